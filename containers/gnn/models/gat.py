"""Graph Attention Network (Veličković et al., ICLR 2018)."""

from __future__ import annotations

import torch.nn.functional as F
from torch_geometric.nn import GATConv

from containers.gnn.models.base import TwoLayerGNN


class GAT(TwoLayerGNN):
    r"""Two-layer GAT for node classification, from `"Graph Attention Networks"
    <https://arxiv.org/abs/1710.10903>`_.

    Each layer computes, per head :math:`k`, attention over the neighbours (self loop included)

    .. math::
        \alpha_{ij}^{k} = \mathrm{softmax}_{j \in \mathcal{N}(i) \cup \{i\}}\left(
            \mathrm{LeakyReLU}_{0.2}\left(\mathbf{a}_k^\top [W_k h_i \,\Vert\, W_k h_j]\right)\right),
        \qquad h_i' = \big\Vert_{k=1}^{K} \mathrm{ELU}\Big(\sum_j \alpha_{ij}^{k} W_k h_j\Big)

    The first layer concatenates :math:`K` heads; the output layer has one head and no
    non-linearity (the paper's Cora set-up). Dropout (on inputs and on the attention
    coefficients) is applied to both layers.

    Args:
        in_channels (int): input feature size :math:`F_{in}`.
        hidden_channels (int): features per head in the first layer (default: ``8``).
        out_channels (int): number of classes :math:`C`.
        heads (int): attention heads :math:`K` of the first layer (default: ``8``).
        dropout (float): dropout probability (default: ``0.6``).

    Shapes:
        - **input:** node features :math:`(|V|, F_{in})`, edge index :math:`(2, |E|)`
        - **output:** logits :math:`(|V|, C)`
    """

    def __init__(self, in_channels: int, out_channels: int, hidden_channels: int = 8, heads: int = 8,
                 dropout: float = 0.6, **unused: object) -> None:
        if heads < 1:
            raise ValueError(f"GAT: heads must be >= 1, got {heads}")
        super().__init__(in_channels, f"{hidden_channels}x{heads}", out_channels, dropout,
                         GATConv(in_channels, hidden_channels, heads=heads, dropout=dropout),
                         GATConv(hidden_channels * heads, out_channels, heads=1, concat=False, dropout=dropout),
                         activation=F.elu)
        self.heads = heads
