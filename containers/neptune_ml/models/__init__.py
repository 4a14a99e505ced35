"""The Neptune ML models: an R-GCN encoder (:mod:`.rgcn`) with a node or edge head (:mod:`.heads`), link
prediction (:mod:`.link`: the encoder or a KGE embedding, scored by :mod:`.decoders`), and :func:`build_model`,
which makes the one a task needs from the graph's shape (what ``model_config.json`` records)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import Tensor, nn

from containers.neptune_ml.models.decoders import DECODERS
from containers.neptune_ml.models.heads import EdgeHead, NodeHead
from containers.neptune_ml.models.link import KGE, LinkPredictor
from containers.neptune_ml.models.rgcn import EdgeType, RGCNEncoder

NODE_TASKS = ("node_class", "node_regression")
EDGE_TASKS = ("edge_class", "edge_regression")
LINK_TASK = "link_predict"
TASKS = (*NODE_TASKS, *EDGE_TASKS, LINK_TASK)
KGE_MODELS = DECODERS
MODELS = ("rgcn", *KGE_MODELS)


@dataclass(frozen=True)
class ModelShape:
    """What building the model needs to know of the graph (stored in ``model_config.json`` as a dict)."""

    feature_dims: dict[str, int]
    num_nodes: dict[str, int]
    relations: list[EdgeType]
    outputs: int = 1
    edge_feature_dim: int = 0
    link_keys: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"feature_dims": self.feature_dims, "num_nodes": self.num_nodes,
                "relations": [list(relation) for relation in self.relations], "outputs": self.outputs,
                "edge_feature_dim": self.edge_feature_dim, "link_keys": list(self.link_keys)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelShape:
        return cls({k: int(v) for k, v in data["feature_dims"].items()},
                   {k: int(v) for k, v in data["num_nodes"].items()},
                   [tuple(relation) for relation in data["relations"]], int(data["outputs"]),
                   int(data["edge_feature_dim"]), tuple(data["link_keys"]))


class NodeModel(nn.Module):
    """Encoder + :class:`NodeHead`: ``forward`` gives every node's output, by type. An encoder whose last layer
    already has ``outputs`` channels is the whole model (the head is then the identity)."""

    def __init__(self, encoder: RGCNEncoder, outputs: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = nn.Identity() if encoder.out_dim == outputs and encoder.convs else NodeHead(encoder.hidden, outputs)

    def forward(self, x: dict[str, Tensor], edges: dict[EdgeType, Tensor],
                node_rows: dict[str, Tensor] | None = None) -> dict[str, Tensor]:
        return {name: self.head(h) for name, h in self.encoder(x, edges, node_rows).items()}


class EdgeModel(nn.Module):
    """Encoder + :class:`EdgeHead`: ``forward`` gives the output of each (src, dst) pair of one edge type."""

    def __init__(self, encoder: RGCNEncoder, edge_feature_dim: int, outputs: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = EdgeHead(encoder.hidden, edge_feature_dim, outputs, encoder.dropout)

    def forward(self, x: dict[str, Tensor], edges: dict[EdgeType, Tensor], edge_type: EdgeType, pairs: Tensor,
                edge_features: Tensor, node_rows: dict[str, Tensor] | None = None) -> Tensor:
        h = self.encoder(x, edges, node_rows)
        return self.head(h[edge_type[0]][pairs[0]], h[edge_type[2]][pairs[1]], edge_features)


def build_model(task: str, model: str, shape: ModelShape, hp: dict[str, Any]) -> nn.Module:
    """The network for ``task``/``model`` with the trainer's hyperparameters ``hp`` (hyphenated names).

    Raises:
        ValueError: an unknown task or model, or a KGE model for another task than link prediction.
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r} (known: {', '.join(TASKS)})")
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r} (known: {', '.join(MODELS)})")
    if model in KGE_MODELS:
        if task != LINK_TASK:
            raise ValueError(f"model {model!r} is a knowledge-graph embedding: it only does link_predict")
        return KGE(model, shape.num_nodes, list(shape.link_keys), int(hp["hidden-dim-kge"]), float(hp["gamma"]))
    encoder = RGCNEncoder(shape.feature_dims, shape.num_nodes, shape.relations, hidden=int(hp["num-hidden"]),
                          layers=int(hp["layers"]), num_bases=int(hp["num-bases"]), dropout=float(hp["dropout"]),
                          self_loop=bool(hp["self-loop"]), embedding_size=int(hp["embedding-size"]),
                          concat_node_embed=bool(hp["concat-node-embed"]),
                          out_dim=shape.outputs if task in NODE_TASKS else None)
    if task in NODE_TASKS:
        return NodeModel(encoder, shape.outputs)
    if task in EDGE_TASKS:
        return EdgeModel(encoder, shape.edge_feature_dim, shape.outputs)
    return LinkPredictor(encoder, list(shape.link_keys), float(hp["gamma"]))
