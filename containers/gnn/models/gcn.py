"""Graph Convolutional Network (Kipf & Welling, ICLR 2017)."""

from __future__ import annotations

from torch_geometric.nn import GCNConv

from containers.gnn.models.base import TwoLayerGNN


class GCN(TwoLayerGNN):
    r"""Two-layer GCN for node classification, from `"Semi-Supervised Classification with Graph
    Convolutional Networks" <https://arxiv.org/abs/1609.02907>`_.

    .. math::
        Z = \mathrm{softmax}\left(\hat{A}\,\mathrm{ReLU}\left(\hat{A} X W^{(0)}\right) W^{(1)}\right),
        \qquad \hat{A} = \tilde{D}^{-1/2} (A + I) \tilde{D}^{-1/2}

    where :math:`\tilde{D}_{ii} = \sum_j (A + I)_{ij}`. Dropout is applied to the input of each layer.
    ``forward`` returns the logits (log-softmax is left to the loss).

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
        super().__init__(in_channels, str(hidden_channels), out_channels, dropout,
                         GCNConv(in_channels, hidden_channels), GCNConv(hidden_channels, out_channels))
