"""The classifier's network: one small CNN, sized for 8×8 digits but taking any square size."""

from __future__ import annotations

import torch
from torch import nn


class ImageCNN(nn.Module):
    r"""Two 3×3 convolutions, a 2×2 max-pool, then a two-layer classifier head.

    .. math::
        h = \mathrm{pool}(\mathrm{ReLU}(W_2 * \mathrm{ReLU}(W_1 * x))),\quad
        y = W_4\,\mathrm{ReLU}(W_3\,\mathrm{dropout}(\mathrm{vec}(\mathrm{avgpool}_{4\times4}(h))))

    LeNet-style and deliberately small: on scikit-learn's digits it reaches about 97% test
    accuracy in a few seconds of CPU. The adaptive average pool to 4×4 lets one architecture
    take any input size from 8×8 up.

    Args:
        num_classes: number of labels (output logits).
        channels: output channels of the two convolutions. (default: ``(16, 32)``)
        hidden: width of the hidden classifier layer. (default: ``64``)
        dropout: dropout probability before the head. (default: ``0.25``)

    Shapes:
        - input: :math:`(N, 1, H, W)`, :math:`H, W \ge 8`, values in ``[0, 1]``
        - output: :math:`(N, \text{num\_classes})` logits
    """

    def __init__(self, num_classes: int, channels: tuple[int, int] = (16, 32), hidden: int = 64,
                 dropout: float = 0.25) -> None:
        super().__init__()
        if num_classes < 2:
            raise ValueError(f"ImageCNN needs at least 2 classes, got {num_classes}")
        if len(channels) != 2 or min(channels) < 1 or hidden < 1:
            raise ValueError(f"ImageCNN: channels must be two positive ints and hidden positive, got "
                             f"channels={channels}, hidden={hidden}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"ImageCNN: dropout must lie in [0, 1), got {dropout}")
        self.num_classes = num_classes
        self.channels = tuple(channels)
        self.hidden = hidden
        self.dropout = dropout
        self.features = nn.Sequential(
            nn.Conv2d(1, channels[0], kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(channels[0], channels[1], kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.AdaptiveAvgPool2d(4),
        )
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(channels[1] * 16, hidden),
            nn.ReLU(),
            nn.Linear(hidden, num_classes),
        )
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Conv2d | nn.Linear):
                module.reset_parameters()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.size(1) != 1:
            raise ValueError(f"ImageCNN expects (N, 1, H, W) input, got {tuple(x.shape)}")
        return self.head(self.features(x))

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(num_classes={self.num_classes}, channels={self.channels}, "
                f"hidden={self.hidden})")
