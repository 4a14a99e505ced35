"""The hyperparameters of ``mlharbor/gnn``, their defaults, and how they are read.

Defaults are the published set-ups: Kipf & Welling's GCN (16 hidden, dropout 0.5, lr 0.01,
weight decay 5e-4, 200 epochs) and Veličković et al.'s GAT (8 heads × 8 hidden, dropout 0.6,
lr 0.005, weight decay 5e-4). A value given as a hyperparameter overrides the model's default.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from typing import Any

#: Per-model defaults; anything not listed falls back to :class:`TrainConfig`'s own default.
MODEL_DEFAULTS: dict[str, dict[str, Any]] = {
    "gcn": {"hidden": 16, "dropout": 0.5, "lr": 0.01},
    "sage": {"hidden": 16, "dropout": 0.5, "lr": 0.01},
    "gat": {"hidden": 8, "heads": 8, "dropout": 0.6, "lr": 0.005},
}

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


@dataclass(frozen=True)
class TrainConfig:
    """One training run.

    Args:
        model: ``gcn``, ``gat`` or ``sage`` (GraphSAGE).
        epochs: full-batch epochs (default: 200).
        lr / weight_decay: Adam's learning rate and L2 penalty.
        hidden / heads / dropout: model sizes (``heads`` is GAT's only).
        seed: seeds torch, so a run is repeatable.
        normalize_features: divide each feature row by its sum (Kipf & Welling's preprocessing).
        undirected: treat every edge as going both ways (citations carry no direction for GCN).
        select: ``val`` keeps the weights of the epoch with the best validation accuracy, ``last`` the final ones.
        checkpoint_every: epochs between checkpoints (0: none).
        graph_endpoint: the graph server's Gremlin URL (else ``MLHARBOR_GRAPH_ENDPOINT``).
        vertex_label / edge_label: which vertices and edges form the graph ("" = the ETL's, from meta.json).
        channel: the input channel with the ETL's feature files ("" = the only channel).
    """

    model: str = "gcn"
    epochs: int = 200
    lr: float = 0.01
    weight_decay: float = 5e-4
    hidden: int = 16
    heads: int = 8
    dropout: float = 0.5
    seed: int = 0
    normalize_features: bool = True
    undirected: bool = True
    select: str = "val"
    checkpoint_every: int = 10
    graph_endpoint: str = ""
    vertex_label: str = ""
    edge_label: str = ""
    channel: str = ""

    def __post_init__(self) -> None:
        if self.model not in MODEL_DEFAULTS:
            raise ValueError(f"model must be one of {', '.join(MODEL_DEFAULTS)}, got {self.model!r}")
        if self.epochs < 1 or self.hidden < 1 or self.heads < 1:
            raise ValueError("epochs, hidden and heads must be >= 1")
        if self.select not in ("val", "last"):
            raise ValueError(f"select must be 'val' or 'last', got {self.select!r}")
        if self.checkpoint_every < 0:
            raise ValueError("checkpoint_every must be >= 0")

    def model_sizes(self) -> dict[str, Any]:
        return {"hidden_channels": self.hidden, "heads": self.heads, "dropout": self.dropout}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _convert(name: str, kind: type, raw: Any) -> Any:
    """One hyperparameter value as its field's type (SageMaker passes every value as a string)."""
    text = raw if isinstance(raw, str) else json.dumps(raw)
    text = text.strip().strip('"') if isinstance(raw, str) else text
    try:
        if kind is bool:
            if text.lower() in _TRUE:
                return True
            if text.lower() in _FALSE:
                return False
            raise ValueError
        return kind(text)
    except ValueError:
        raise ValueError(f"hyperparameter {name}={raw!r} is not a valid {kind.__name__}") from None


def from_hyperparameters(hyperparameters: dict[str, Any]) -> TrainConfig:
    """A :class:`TrainConfig` from ``hyperparameters.json`` (strings), model defaults filled in.

    Raises:
        ValueError: an unknown hyperparameter or a value of the wrong type.
    """
    types = {f.name: f.type for f in fields(TrainConfig)}
    kinds = {"str": str, "int": int, "float": float, "bool": bool}
    user = {key: value for key, value in hyperparameters.items() if not key.startswith("sagemaker_")}
    unknown = sorted(set(user) - set(types))
    if unknown:
        raise ValueError(f"unknown hyperparameters {unknown}; known: {sorted(types)}")
    values = {key: _convert(key, kinds[str(types[key])], value) for key, value in user.items()}
    model = str(values.get("model", TrainConfig.model)).lower()
    model = "sage" if model == "graphsage" else model
    merged = {**MODEL_DEFAULTS.get(model, {}), **values, "model": model}
    return TrainConfig(**merged)
