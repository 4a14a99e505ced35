r"""The heterogeneous R-GCN encoder (Schlichtkrull et al., 2018) over every relation and its reverse.

One layer, for a node :math:`i` of any type:

.. math::

    h_i' = \sigma\Big(W_0 h_i + \sum_{r} \sum_{j \in N_r(i)} \frac{1}{c_{i,r}} W_r h_j + b\Big),
    \qquad W_r = \sum_{b=1}^{B} a_{rb} V_b

:math:`N_r(i)` the sources of relation :math:`r` into :math:`i`, :math:`c_{i,r} = |N_r(i)|` (a mean per relation),
:math:`W_0` the self-loop (``self-loop`` / ``use-self-loop``), and with ``num-bases`` :math:`B` between 1 and the
number of relations the basis decomposition (``0`` = one full matrix per relation). Before the first layer each node
type is mapped into the hidden size: ``x_t P_t`` for a type with features (concatenated with a learnt per-node
embedding when ``concat-node-embed``), a learnt embedding ``E_t`` (``embedding-size`` wide, then projected) for a
type without. Dropout applies to the input features and to every hidden layer's output.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

EdgeType = tuple[str, str, str]


class RelGraphConv(nn.Module):
    """One R-GCN layer over a dict of node tensors (all ``in_dim`` wide) and a dict of ``edge_index`` per relation."""

    def __init__(self, in_dim: int, out_dim: int, relations: list[EdgeType], num_bases: int = 0,
                 self_loop: bool = True) -> None:
        super().__init__()
        self.relations = list(relations)
        self.index = {relation: row for row, relation in enumerate(self.relations)}
        count = len(self.relations)
        self.use_bases = 0 < num_bases < count
        if self.use_bases:
            self.bases = nn.Parameter(torch.empty(num_bases, in_dim, out_dim))
            self.coefficients = nn.Parameter(torch.empty(count, num_bases))
        else:
            self.weight = nn.Parameter(torch.empty(max(count, 1), in_dim, out_dim))
        self.self_loop = nn.Linear(in_dim, out_dim, bias=False) if self_loop else None
        self.bias = nn.Parameter(torch.zeros(out_dim))
        self.out_dim = out_dim
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.use_bases:
            nn.init.xavier_uniform_(self.bases)
            nn.init.uniform_(self.coefficients, -1 / math.sqrt(self.coefficients.size(1)),
                             1 / math.sqrt(self.coefficients.size(1)))
        else:
            nn.init.xavier_uniform_(self.weight)
        if self.self_loop is not None:
            self.self_loop.reset_parameters()
        nn.init.zeros_(self.bias)

    def relation_weight(self, relation: EdgeType) -> Tensor:
        row = self.index[relation]
        if self.use_bases:
            return torch.einsum("b,bio->io", self.coefficients[row], self.bases)
        return self.weight[row]

    def forward(self, h: dict[str, Tensor], edges: dict[EdgeType, Tensor]) -> dict[str, Tensor]:
        out = {name: (self.self_loop(x) if self.self_loop is not None else x.new_zeros(len(x), self.out_dim))
               + self.bias for name, x in h.items()}
        for relation, edge_index in edges.items():
            src, _, dst = relation
            if relation not in self.index or edge_index.size(1) == 0 or src not in h or dst not in h:
                continue
            messages = (h[src] @ self.relation_weight(relation))[edge_index[0]]
            summed = torch.zeros(len(h[dst]), self.out_dim, dtype=messages.dtype).index_add_(0, edge_index[1], messages)
            degree = torch.zeros(len(h[dst]), dtype=messages.dtype).index_add_(
                0, edge_index[1], torch.ones(edge_index.size(1), dtype=messages.dtype))
            out[dst] = out[dst] + summed / degree.clamp(min=1).unsqueeze(1)
        return out


class InputLayer(nn.Module):
    """Each node type into the hidden size: its features projected, a learnt embedding, or both concatenated."""

    def __init__(self, feature_dims: dict[str, int], num_nodes: dict[str, int], hidden: int,
                 embedding_size: int, concat_node_embed: bool, allow_passthrough: bool = True) -> None:
        super().__init__()
        self.embeddings = nn.ModuleDict()
        self.projections = nn.ModuleDict()
        dims = set(feature_dims.values())
        #: every type has features of one width and nothing is learnt per node: the first layer reads them as they
        #: are (a projection would only factor its weights, which regularises worse: GCN's first layer has none)
        self.passthrough = allow_passthrough and len(dims) == 1 and 0 not in dims and not concat_node_embed
        self.width = next(iter(dims)) if self.passthrough else hidden
        if self.passthrough:
            return
        for name, dim in feature_dims.items():
            embedded = dim == 0 or concat_node_embed
            if embedded:
                self.embeddings[name] = nn.Embedding(max(num_nodes[name], 1), embedding_size)
            self.projections[name] = nn.Linear(dim + (embedding_size if embedded else 0), hidden)

    def forward(self, x: dict[str, Tensor], node_rows: dict[str, Tensor] | None = None) -> dict[str, Tensor]:
        """``node_rows``: each row's index into the training graph (``-1`` = a vertex the model never saw, whose
        learnt embedding is zeros); ``None`` = the training graph itself."""
        if self.passthrough:
            return dict(x)
        out = {}
        for name, features in x.items():
            parts = [features]
            if name in self.embeddings:
                table = self.embeddings[name]
                if node_rows is None:
                    parts.append(table.weight[: len(features)])
                else:
                    rows = node_rows[name]
                    known = table(rows.clamp(min=0))
                    parts.append(known * (rows >= 0).unsqueeze(1).to(known.dtype))
            out[name] = self.projections[name](torch.cat(parts, dim=1))
        return out


class RGCNEncoder(nn.Module):
    """``InputLayer`` then ``layers`` :class:`RelGraphConv` layers (ReLU and dropout between layers; the
    last layer's output is the node embedding). ``layers=0`` is a feature-only model: the input layer
    alone. ``out_dim``: the last layer's width (a node head's outputs: the classic R-GCN node classifier
    ends in a layer with one output per class)."""

    def __init__(self, feature_dims: dict[str, int], num_nodes: dict[str, int], relations: list[EdgeType],
                 hidden: int = 16, layers: int = 2, num_bases: int = 0, dropout: float = 0.5,
                 self_loop: bool = True, embedding_size: int = 16, concat_node_embed: bool = False,
                 out_dim: int | None = None) -> None:
        super().__init__()
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        if layers < 0 or hidden < 1:
            raise ValueError(f"layers must be >= 0 and num-hidden >= 1 (got {layers}, {hidden})")
        self.hidden, self.dropout = hidden, dropout
        self.input = InputLayer(feature_dims, num_nodes, hidden, embedding_size, concat_node_embed,
                                allow_passthrough=layers > 0)
        widths = [self.input.width] + [hidden] * (layers - 1) + [out_dim or hidden]
        self.convs = nn.ModuleList(RelGraphConv(widths[i], widths[i + 1], relations, num_bases, self_loop)
                                   for i in range(layers))
        self.out_dim = widths[-1] if layers else hidden

    def _dropout(self, value: Tensor) -> Tensor:
        return F.dropout(value, self.dropout, True) if self.training and self.dropout > 0 else value

    def forward(self, x: dict[str, Tensor], edges: dict[EdgeType, Tensor],
                node_rows: dict[str, Tensor] | None = None) -> dict[str, Tensor]:
        x = {name: self._dropout(features) for name, features in x.items()}
        h = self.input(x, node_rows)
        for position, conv in enumerate(self.convs):
            if position:  # the input projection and the first layer compose linearly, as GCN's first layer
                h = {name: self._dropout(torch.relu(value)) for name, value in h.items()}
            h = conv(h, edges)
        return h
