"""Small multi-exit networks for CPU image runs (8×8 digits, 28×28 MNIST-like images)."""

from __future__ import annotations

import math

from torch import nn

from .multi_exit import BackboneAdapter, LayerContext


class MLPAdapter(BackboneAdapter):
    """Flatten → linear stem, then residual blocks (LayerNorm → Linear → GELU → dropout); an exit after each block."""

    def __init__(self, input_shape: tuple[int, ...], hidden: int, n_layers: int, dropout: float):
        super().__init__()
        self.hidden_size = hidden
        self.n_layers = n_layers
        self.stem = nn.Sequential(nn.Flatten(), nn.Linear(math.prod(input_shape), hidden), nn.GELU())
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.LayerNorm(hidden), nn.Linear(hidden, hidden), nn.GELU(), nn.Dropout(dropout))
            for _ in range(n_layers)
        )

    def embed(self, batch):
        return self.stem(batch["pixel_values"]), LayerContext()

    def layer(self, index, hidden, ctx):
        return hidden + self.blocks[index - 1](hidden)

    def pool(self, hidden, ctx):
        return hidden


class CNNAdapter(BackboneAdapter):
    """3×3 conv stem, then conv blocks that halve the resolution while it exceeds 8 pixels (28 → 14 → 7) and are
    residual afterwards; exits read the global average pool. GroupNorm, not BatchNorm, so a sample's output does not
    depend on its batch (real early-exit inference shrinks batches as samples leave)."""

    def __init__(self, input_shape: tuple[int, ...], channels: int, n_layers: int, dropout: float):
        super().__init__()
        in_channels, size = input_shape[0], input_shape[-1]
        self.hidden_size = channels
        self.n_layers = n_layers
        self.stem = nn.Sequential(nn.Conv2d(in_channels, channels, 3, padding=1), nn.GELU())
        self.blocks = nn.ModuleList()
        self.residual = []
        for _ in range(n_layers):
            stride = 2 if size > 8 else 1
            size = math.ceil(size / stride)
            self.residual.append(stride == 1)
            self.blocks.append(
                nn.Sequential(
                    nn.Conv2d(channels, channels, 3, stride=stride, padding=1),
                    nn.GroupNorm(1, channels),
                    nn.GELU(),
                    nn.Dropout(dropout),
                )
            )

    def embed(self, batch):
        return self.stem(batch["pixel_values"]), LayerContext()

    def layer(self, index, hidden, ctx):
        out = self.blocks[index - 1](hidden)
        return hidden + out if self.residual[index - 1] else out

    def pool(self, hidden, ctx):
        return hidden.mean(dim=(2, 3))
