"""`training.precision` → what a run computes in: the autocast dtype (fp32, bf16, fp16) and whether fp32 matrix
products may use TF32 tensor cores (CUDA, Ampere and later).

- `auto` (default): bf16 autocast where the device has native bf16 arithmetic — a CUDA GPU that reports it
  (`torch.cuda.is_bf16_supported()`, Ampere and later), a CPU with AVX-512 BF16 (Cooper Lake, Sapphire Rapids
  and later; AMX comes with it) — fp32 otherwise. Elsewhere bf16 is emulated and slower than fp32.
- `fp32`, `bf16`, `fp16` (CUDA only): as named.
- `fp32-strict`: fp32 with TF32 off. Every other value lets fp32 matrix products use TF32 on a GPU that has it
  (the precision PyTorch calls "high": 10-bit mantissa products, fp32 accumulation).

Measured on a 2-core AVX-512 BF16 CPU (MiniLM-L6 on SST-2): bf16 trained with the same loss curve (mean |Δ| 3e-4
over 100 steps) and the same dev accuracy at every exit; `tests/test_training_precision.py` checks the accuracy."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from ..errors import ConfigError
from ..models.runtime import autocast, check_precision
from .options import TRAINING_OPTIONS


@dataclass(frozen=True)
class Precision:
    dtype: str  # the autocast mode: fp32, bf16 or fp16
    tf32: bool  # fp32 matrix products on TF32 tensor cores

    def to_dict(self) -> dict:
        return asdict(self)

    def autocast(self, device: torch.device):
        return autocast(self.dtype, device)

    def __str__(self) -> str:
        return self.dtype + (" (TF32 matmuls)" if self.tf32 else "")


def bf16_native(device: torch.device) -> bool:
    """Whether `device` computes in bf16 natively (not emulated)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported(including_emulation=False)
    # torch's own CPU feature check (cpuinfo), the one its oneDNN bf16 kernels are chosen by.
    return bool(getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)())


def tf32_available(device: torch.device) -> bool:
    return device.type == "cuda" and torch.cuda.get_device_capability(device)[0] >= 8


def resolve_precision(option: str, device: torch.device) -> Precision:
    """The precision `option` (a `training.precision` value) means on `device`."""
    choices = TRAINING_OPTIONS["precision"].choices
    if option not in choices:
        raise ConfigError(f"training option 'precision': {option!r} is not one of {', '.join(choices)}")
    if option == "auto":
        dtype = "bf16" if bf16_native(device) else "fp32"
    else:
        dtype = check_precision("fp32" if option == "fp32-strict" else option, device)
    return Precision(dtype, option != "fp32-strict" and tf32_available(device))


def apply_matmul_precision(precision: Precision) -> None:
    """Set torch's process-wide TF32 switches to `precision` (both ways, so an earlier run in the same process
    leaves nothing behind). They only affect CUDA kernels."""
    torch.backends.cuda.matmul.allow_tf32 = precision.tf32
    torch.backends.cudnn.allow_tf32 = precision.tf32


def inference_precision(record: dict, device: torch.device, option: str | None = None) -> Precision:
    """The precision predict and latency run a trained model in: `option` when given (a `training.precision`
    value), else the precision it was trained in (the model record's `training.precision`; fp32 for models
    recorded before it existed), except that an fp16-trained model runs in fp32 off CUDA."""
    if option is not None:
        return resolve_precision(option, device)
    trained = record.get("training", {}).get("precision", {"dtype": "fp32", "tf32": False})  # checked by read_record
    dtype = trained["dtype"] if trained["dtype"] != "fp16" or device.type == "cuda" else "fp32"
    return Precision(dtype, trained["tf32"] and tf32_available(device))
