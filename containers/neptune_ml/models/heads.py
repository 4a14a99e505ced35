r"""Prediction heads on the encoder's node embeddings :math:`h`.

- :class:`NodeHead`: :math:`\hat y_i = W h_i + b`; classification reads it as logits (softmax, cross-entropy),
  regression as the standardised value (mean squared error; the trainer undoes the standardisation).
- :class:`EdgeHead`: for an edge :math:`(u, v)` with features :math:`x_{uv}`,
  :math:`\hat y_{uv} = W_2\,\mathrm{ReLU}(W_1 [h_u \Vert h_v \Vert x_{uv}] + b_1) + b_2`, read as for nodes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class NodeHead(nn.Module):
    def __init__(self, hidden: int, outputs: int) -> None:
        super().__init__()
        self.linear = nn.Linear(hidden, outputs)

    def forward(self, h: Tensor) -> Tensor:
        return self.linear(h)


class EdgeHead(nn.Module):
    def __init__(self, hidden: int, edge_feature_dim: int, outputs: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.hidden = nn.Linear(2 * hidden + edge_feature_dim, hidden)
        self.out = nn.Linear(hidden, outputs)
        self.dropout = dropout

    def forward(self, h_src: Tensor, h_dst: Tensor, edge_features: Tensor) -> Tensor:
        joined = torch.cat([h_src, h_dst, edge_features], dim=1)
        hidden = F.dropout(torch.relu(self.hidden(joined)), self.dropout, self.training)
        return self.out(hidden)
