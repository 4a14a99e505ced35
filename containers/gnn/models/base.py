"""The skeleton the two-layer node classifiers share; each model module only picks its layers."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class TwoLayerGNN(nn.Module):
    r"""``dropout → conv1 → activation → dropout → conv2``: the Cora set-up of GCN, GAT and GraphSAGE.

    Subclasses build the two message-passing layers and document their update rule.

    Args:
        in_channels (int): input feature size :math:`F_{in}`.
        hidden (str): the hidden size as ``repr`` shows it.
        out_channels (int): number of classes :math:`C`.
        dropout (float): dropout probability on each layer's input.
        conv1, conv2 (nn.Module): the layers, each called as ``conv(x, edge_index)``.
        activation: the non-linearity between them.
    """

    def __init__(self, in_channels: int, hidden: str, out_channels: int, dropout: float, conv1: nn.Module,
                 conv2: nn.Module, activation: Callable[[Tensor], Tensor] = torch.relu) -> None:
        super().__init__()
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"{type(self).__name__}: dropout must be in [0, 1), got {dropout}")
        self.in_channels, self.hidden, self.out_channels = in_channels, hidden, out_channels
        self.dropout, self.activation = dropout, activation
        self.conv1, self.conv2 = conv1, conv2
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.conv1.reset_parameters()
        self.conv2.reset_parameters()

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        x = F.dropout(x, self.dropout, self.training)
        x = self.activation(self.conv1(x, edge_index))
        x = F.dropout(x, self.dropout, self.training)
        return self.conv2(x, edge_index)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.hidden}, {self.out_channels}, dropout={self.dropout})"
