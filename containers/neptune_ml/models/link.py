r"""Link prediction: node embeddings :math:`e` scored per relation by a decoder (:mod:`.decoders`).

- :class:`LinkPredictor` (``model`` ``rgcn``): :math:`e` = the R-GCN encoder's output over the graph's features
  and the training edges; the decoder is DistMult with one diagonal :math:`r` per stored relation.
- :class:`KGE` (``transe``, ``distmult``, ``rotate``): :math:`e` is a free embedding per node
  (``hidden-dim-kge`` wide; no features, no message passing), one :math:`r` per stored relation.

Both train the same way (the trainer's negative sampling): for each training edge ``num-negs`` corrupted triples
(the head or the tail replaced by a uniform node of its type) and the logistic loss
:math:`-\log\sigma(f^+) - \frac{1}{k}\sum\log\sigma(-f^-)`.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from containers.neptune_ml.models.decoders import relation_width, score
from containers.neptune_ml.models.rgcn import EdgeType, RGCNEncoder


def _key(edge_type: EdgeType) -> str:
    return "__".join(edge_type)


class RelationTable(nn.Module):
    """One learnt vector per stored relation (``src__rel__dst``)."""

    def __init__(self, keys: list[str], width: int, init: str = "normal") -> None:
        super().__init__()
        self.keys = list(keys)
        self.vectors = nn.ParameterDict({key: nn.Parameter(torch.empty(width)) for key in self.keys})
        for vector in self.vectors.values():
            if init == "phase":
                nn.init.uniform_(vector, -torch.pi, torch.pi)
            elif init == "ones":
                nn.init.ones_(vector)
            else:
                nn.init.normal_(vector, std=0.1)

    def __getitem__(self, key: str) -> Tensor:
        return self.vectors[key]


class LinkPredictor(nn.Module):
    decoder = "distmult"

    def __init__(self, encoder: RGCNEncoder, keys: list[str], gamma: float = 12.0) -> None:
        super().__init__()
        self.encoder = encoder
        self.relations = RelationTable(keys, encoder.hidden, init="ones")
        self.gamma = gamma

    def embed(self, x: dict[str, Tensor], edges: dict[EdgeType, Tensor],
              node_rows: dict[str, Tensor] | None = None) -> dict[str, Tensor]:
        return self.encoder(x, edges, node_rows)

    def triple_score(self, key: str, head: Tensor, tail: Tensor) -> Tensor:
        return score(self.decoder, head, self.relations[key], tail, self.gamma)


class KGE(nn.Module):
    def __init__(self, decoder: str, num_nodes: dict[str, int], keys: list[str], dim: int = 64,
                 gamma: float = 12.0) -> None:
        super().__init__()
        self.decoder, self.gamma = decoder, gamma
        self.embeddings = nn.ModuleDict({name: nn.Embedding(max(count, 1), dim) for name, count in num_nodes.items()})
        bound = (gamma + 2.0) / dim if decoder != "distmult" else 0.1
        for table in self.embeddings.values():
            nn.init.uniform_(table.weight, -bound, bound) if decoder != "distmult" else nn.init.normal_(
                table.weight, std=bound)
        width = relation_width(decoder, dim)
        self.relations = RelationTable(keys, width, init="phase" if decoder == "rotate" else "normal")

    def embed(self, x: dict[str, Tensor] | None = None, edges: dict[EdgeType, Tensor] | None = None,
              node_rows: dict[str, Tensor] | None = None) -> dict[str, Tensor]:
        return {name: table.weight for name, table in self.embeddings.items()}

    def triple_score(self, key: str, head: Tensor, tail: Tensor) -> Tensor:
        return score(self.decoder, head, self.relations[key], tail, self.gamma)
