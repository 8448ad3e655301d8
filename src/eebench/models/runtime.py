"""Device, precision, seeding and progress bars, shared by training and inference."""

from __future__ import annotations

import contextlib
import os
import random
import sys

import numpy as np
import torch

from ..errors import ConfigError

PRECISIONS = ("fp32", "bf16", "fp16")


def select_device(name: str = "auto") -> torch.device:
    """`auto` → the first CUDA GPU when there is one, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        device = None
    if device is None or device.type not in ("cpu", "cuda"):
        raise ConfigError(f"training option 'device': {name!r} is not one of auto, cpu, cuda, cuda:N")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"training option 'device': {name!r} was asked for but no CUDA GPU is available")
    return device


def check_precision(precision: str, device: torch.device) -> str:
    if precision not in PRECISIONS:
        raise ConfigError(f"training option 'precision': {precision!r} is not one of {', '.join(PRECISIONS)}")
    if precision == "fp16" and device.type != "cuda":
        raise ConfigError("training option 'precision': fp16 needs a CUDA GPU; use bf16 or fp32 on the CPU")
    return precision


def autocast(precision: str, device: torch.device):
    """Mixed precision for the forward pass; fp32 runs as is."""
    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


FILL_UNINITIALIZED_MEMORY = False  # torch's default True under deterministic algorithms; see seed_everything


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch and ask torch for deterministic kernels (same seed → same logits on CPU)."""
    # cuBLAS is deterministic only with a fixed workspace; it must be set before the first CUDA matmul.
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    # warn_only: a few CUDA kernels have no deterministic version; on the CPU every kernel used here does.
    torch.use_deterministic_algorithms(True, warn_only=True)
    # ... without its debugging aid that fills every new tensor with NaN (results do not depend on it): 12 % of a
    # MiniLM-L6 training step on the CPU.
    torch.utils.deterministic.fill_uninitialized_memory = FILL_UNINITIALIZED_MEMORY


def progress_bar(iterable=None, **kwargs):
    """A tqdm bar on stderr. When stderr is not a terminal (Snakemake/SLURM logs), it prints a line every 10 s
    instead of redrawing."""
    from tqdm.auto import tqdm

    return tqdm(iterable, file=sys.stderr, mininterval=0.1 if sys.stderr.isatty() else 10.0, **kwargs)


SINGLE_THREAD_FAMILIES = ("mlp", "cnn")


@contextlib.contextmanager
def threads_for(family: str, small: bool | None = None):
    """Run the small CPU nets (`small`; by default the SINGLE_THREAD_FAMILIES) on one thread: their operations are
    too small to split, and on a busy machine OpenMP threads spinning for a core make them tens of times slower
    (measured: 0.8 s vs 35 s; a small captioner's step burnt over 1 s of CPU per thread against 0.17 s alone)."""
    previous = torch.get_num_threads()
    if family in SINGLE_THREAD_FAMILIES if small is None else small:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
