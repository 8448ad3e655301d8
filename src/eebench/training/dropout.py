"""Dropout with cheaper masks on the CPU: the same Bernoulli(1 − p) keep mask and 1 / (1 − p) scaling as
`torch.nn.Dropout`, drawn from another random stream.

torch's CPU `bernoulli_` draws every element from MT19937, ~10 ns each on the development machine: a tenth of a
MiniLM-L6 training step at SST-2's short sentences. Here each mask comes from NumPy's SFC64 generator as raw 32-bit
integers compared with (1 − p)·2³², several times faster. The generator is seeded per call from torch's default
generator, so `torch.manual_seed` and the RNG state a checkpoint saves still fix every mask (resumed runs see the
masks an uninterrupted run would). GPUs, other dtypes, `inplace` and p = 1 keep torch's own dropout."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

# dtype → the NumPy and torch integer types of its width (masks are built as bit patterns)
INTEGERS = {torch.float32: (np.uint32, torch.int32), torch.bfloat16: (np.uint16, torch.int16),
            torch.float16: (np.uint16, torch.int16)}


def keep_mask(shape: torch.Size, keep: float, scale: torch.Tensor) -> torch.Tensor:
    """A tensor of `shape` and `scale`'s dtype holding `scale` (a 0-d tensor) with probability `keep` and 0
    otherwise, independently."""
    n = int(np.prod(shape, dtype=np.int64))
    seed = int(torch.randint(0, 2**63 - 1, (), dtype=torch.int64))
    draws = np.random.SFC64(seed).random_raw((n + 1) // 2).view(np.uint32)[:n]  # two 32-bit draws per 64-bit word
    kept = draws < np.uint32(min(round(keep * 2**32), 2**32 - 1))
    unsigned, signed = INTEGERS[scale.dtype]
    bits = kept.astype(unsigned)
    bits *= unsigned(scale.view(signed).item() % (1 << 8 * bits.itemsize))  # the pattern of `scale`'s bits
    return torch.from_numpy(bits).view(scale.dtype).view(shape)


class Dropout(nn.Dropout):
    """`nn.Dropout` with masks from `keep_mask` where that is faster (CPU float tensors)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        if self.inplace or self.p == 1 or x.device.type != "cpu" or x.dtype not in INTEGERS:
            return super().forward(x)
        # torch's dropout: input × mask, the mask's kept elements 1 / (1 − p) rounded to the input's dtype
        scale = torch.ones((), dtype=x.dtype).div_(1 - self.p)
        return x * keep_mask(x.shape, 1 - self.p, scale)


def use_fast_dropout(model: nn.Module) -> nn.Module:
    """Replace every `nn.Dropout` module inside `model` by `Dropout` with the same p (in place; returns `model`).
    Dropout that a module applies through `torch.nn.functional` (scaled-dot-product attention's) is unchanged."""
    for parent in model.modules():
        for name, child in list(parent.named_children()):
            if type(child) is nn.Dropout:
                setattr(parent, name, Dropout(child.p, child.inplace))
    return model
