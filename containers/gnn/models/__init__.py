"""The node-classification models of ``mlharbor/gnn``, one per module, chosen by hyperparameter ``model``."""

from __future__ import annotations

from torch import nn

from containers.gnn.models.gat import GAT
from containers.gnn.models.gcn import GCN
from containers.gnn.models.sage import GraphSAGE

MODELS: dict[str, type[nn.Module]] = {"gcn": GCN, "gat": GAT, "sage": GraphSAGE}

__all__ = ["GAT", "GCN", "MODELS", "GraphSAGE", "build_model"]


def build_model(name: str, in_channels: int, out_channels: int, **sizes: object) -> nn.Module:
    """The model called ``name`` (``gcn``, ``gat``, ``sage``; ``graphsage`` also works).

    Raises:
        ValueError: an unknown name.
    """
    key = "sage" if name.lower() == "graphsage" else name.lower()
    if key not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    return MODELS[key](in_channels, out_channels, **sizes)
