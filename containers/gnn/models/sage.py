"""GraphSAGE (Hamilton, Ying & Leskovec, NeurIPS 2017), full-batch with the mean aggregator."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn import SAGEConv


class GraphSAGE(nn.Module):
    r"""Two-layer GraphSAGE for node classification, from `"Inductive Representation Learning on
    Large Graphs" <https://arxiv.org/abs/1706.02216>`_, mean aggregator:

    .. math::
        h_i' = W_1 h_i + W_2 \cdot \frac{1}{|\mathcal{N}(i)|} \sum_{j \in \mathcal{N}(i)} h_j

    with ReLU after the first layer and dropout on the input of each layer.

    Args:
        in_channels (int): input feature size :math:`F_{in}`.
        hidden_channels (int): hidden size (default: ``16``).
        out_channels (int): number of classes :math:`C`.
        dropout (float): dropout probability (default: ``0.5``).

    Shapes:
        - **input:** node features :math:`(|V|, F_{in})`, edge index :math:`(2, |E|)`
        - **output:** logits :math:`(|V|, C)`
    """

    def __init__(self, in_channels: int, out_channels: int, hidden_channels: int = 16, dropout: float = 0.5,
                 **unused: object) -> None:
        super().__init__()
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"GraphSAGE: dropout must be in [0, 1), got {dropout}")
        self.in_channels, self.hidden_channels, self.out_channels = in_channels, hidden_channels, out_channels
        self.dropout = dropout
        self.conv1 = SAGEConv(in_channels, hidden_channels)
        self.conv2 = SAGEConv(hidden_channels, out_channels)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.conv1.reset_parameters()
        self.conv2.reset_parameters()

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        x = F.dropout(x, self.dropout, self.training)
        x = torch.relu(self.conv1(x, edge_index))
        x = F.dropout(x, self.dropout, self.training)
        return self.conv2(x, edge_index)

    def __repr__(self) -> str:
        return f"GraphSAGE({self.in_channels}, {self.hidden_channels}, {self.out_channels}, dropout={self.dropout})"
