"""Small multi-exit networks for CPU image runs (8×8 digits, 28×28 MNIST-like images). Each adapter builds from
the input shape and its backbone's resolved options (`from_options`, what models.registry calls)."""

from __future__ import annotations

import math

import torch
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

    @classmethod
    def from_options(cls, input_shape: tuple[int, ...], opts: dict) -> "MLPAdapter":
        return cls(input_shape, opts["hidden"], opts["n_layers"], opts["dropout"])

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

    @classmethod
    def from_options(cls, input_shape: tuple[int, ...], opts: dict) -> "CNNAdapter":
        return cls(input_shape, opts["channels"], opts["n_layers"], opts["dropout"])

    def embed(self, batch):
        return self.stem(batch["pixel_values"]), LayerContext()

    def layer(self, index, hidden, ctx):
        out = self.blocks[index - 1](hidden)
        return hidden + out if self.residual[index - 1] else out

    def pool(self, hidden, ctx):
        return hidden.mean(dim=(2, 3))


def conv_size(size: int, kernel: int, padding: int) -> int:
    """Side after a stride-1 convolution."""
    return size + 2 * padding - kernel + 1


def pooled_size(size: int) -> int:
    """Side after a 2×2 max-pool of stride 2 that keeps the last, partial window (Chainer's `cover_all=True`, which
    BranchyNet's layer sizes assume): ⌈size / 2⌉."""
    return math.ceil(size / 2)


def _pool_relu() -> list[nn.Module]:
    return [nn.MaxPool2d(2, 2, ceil_mode=True), nn.ReLU()]


class BLeNetAdapter(BackboneAdapter):
    """B-LeNet (BranchyNet, Teerapittayanon et al. 2016; `networks/lenet_mnist.py` of kunglab/branchynet), two exits.

    Layer 1 is the first 5×5 convolution (1 → 5 channels, padding 3: 28 → 30). Layer 2 is the rest of LeNet:
    pool → ReLU → conv 5×5 (5 → 10, padding 3: 15 → 17) → pool → ReLU → conv 5×5 (10 → 20, padding 3: 9 → 11) →
    pool → ReLU → fully connected 720 → 84 (no activation after it, as in the authors' network); the final exit is
    the second fully connected layer, 84 → classes. Exit 1 is the branch after the first convolution: pool → ReLU →
    conv 3×3 (5 → 10, padding 1: 15 → 15) → pool → ReLU → (640 features) → fully connected 640 → classes. Pools are
    2×2, stride 2, keeping the partial window (15 → 8, 17 → 9, 11 → 6), as the authors' 640 and 720 require.

    The branch's convolution runs in `pool`, so every exit head stays one linear layer and the branch's compute is
    counted in exit 1's cost. It is therefore a backbone parameter: strategies that freeze the backbone while
    training exits 1..L-1 (two-stage, distill) leave it at its initialisation; train B-LeNet with `branchynet`
    (the authors' recipe) or a joint strategy. No dropout and no normalisation, as in the authors' network."""

    n_layers = 2

    def __init__(self, input_shape: tuple[int, ...]):
        super().__init__()
        channels, height, width = input_shape
        self.conv1 = nn.Conv2d(channels, 5, 5, padding=3)
        after_conv1 = [conv_size(size, 5, 3) for size in (height, width)]
        trunk = [pooled_size(conv_size(pooled_size(conv_size(pooled_size(size), 5, 3)), 5, 3)) for size in after_conv1]
        branch = [pooled_size(conv_size(pooled_size(size), 3, 1)) for size in after_conv1]
        self.trunk = nn.Sequential(
            *_pool_relu(), nn.Conv2d(5, 10, 5, padding=3), *_pool_relu(), nn.Conv2d(10, 20, 5, padding=3),
            *_pool_relu(), nn.Flatten(), nn.Linear(20 * math.prod(trunk), 84),
        )
        self.branch = nn.Sequential(*_pool_relu(), nn.Conv2d(5, 10, 3, padding=1), *_pool_relu(), nn.Flatten())
        self.branch_size = 10 * math.prod(branch)
        self.hidden_size = 84

    @classmethod
    def from_options(cls, input_shape: tuple[int, ...], opts: dict) -> "BLeNetAdapter":
        return cls(input_shape)

    @property
    def exit_sizes(self) -> tuple[int, ...]:
        return self.branch_size, self.hidden_size

    def embed(self, batch):
        return batch["pixel_values"], LayerContext()

    def layer(self, index, hidden, ctx):
        return self.conv1(hidden) if index == 1 else self.trunk(hidden)

    def pool(self, hidden: torch.Tensor, ctx) -> torch.Tensor:
        """After layer 1 (a feature map): the branch's layers; after layer 2 (the 84 features): themselves."""
        return self.branch(hidden) if hidden.ndim == 4 else hidden
