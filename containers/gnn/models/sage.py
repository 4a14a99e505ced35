"""GraphSAGE (Hamilton, Ying & Leskovec, NeurIPS 2017), full-batch with the mean aggregator."""

from __future__ import annotations

from torch_geometric.nn import SAGEConv

from containers.gnn.models.base import TwoLayerGNN


class GraphSAGE(TwoLayerGNN):
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
        super().__init__(in_channels, str(hidden_channels), out_channels, dropout,
                         SAGEConv(in_channels, hidden_channels), SAGEConv(hidden_channels, out_channels))
