"""Training hyper-parameters (the config's `training` mapping) with their defaults."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..errors import ConfigError
from ..models.options import merge_options
from ..models.runtime import PRECISIONS

# BERT fine-tuning defaults (Devlin et al.; PABEE/DeeBERT/BEEM use the same): lr 2e-5, batch 32, 10% warm-up,
# weight decay 0.01, max length 128 for GLUE.
TRAINING_DEFAULTS = {
    "epochs": 1,
    "max_steps": None,  # cap on optimizer steps per training phase
    "lr": 2e-5,
    "batch_size": 32,
    "warmup_ratio": 0.1,
    "weight_decay": 0.01,
    "max_length": 128,
    "precision": "fp32",
    "device": "auto",
    "checkpoint_every": 500,  # optimizer steps between resumable checkpoints
    "grad_clip": 1.0,
    # Batches of similar length (less padding, ~2x faster on text) instead of the papers' uniformly random batches;
    # false trains exactly as they do. No effect on images, whose samples all have the same size.
    "group_by_length": True,
}


@dataclass(frozen=True)
class TrainingOptions:
    epochs: float
    max_steps: int | None
    lr: float
    batch_size: int
    warmup_ratio: float
    weight_decay: float
    max_length: int
    precision: str
    device: str
    checkpoint_every: int
    grad_clip: float
    group_by_length: bool

    def to_dict(self) -> dict:
        return asdict(self)


def training_options(given: dict | None) -> TrainingOptions:
    opts = merge_options(given, TRAINING_DEFAULTS, "training options")
    _check(opts["epochs"] > 0, "epochs", "a positive number", opts["epochs"])
    _check(opts["max_steps"] is None or _positive_int(opts["max_steps"]), "max_steps", "a positive integer", opts["max_steps"])
    _check(opts["lr"] > 0, "lr", "a positive number", opts["lr"])
    for key in ("batch_size", "max_length", "checkpoint_every"):
        _check(_positive_int(opts[key]), key, "a positive integer", opts[key])
    _check(0 <= opts["warmup_ratio"] <= 1, "warmup_ratio", "a number in [0, 1]", opts["warmup_ratio"])
    _check(opts["weight_decay"] >= 0, "weight_decay", "a number ≥ 0", opts["weight_decay"])
    _check(opts["grad_clip"] > 0, "grad_clip", "a positive number", opts["grad_clip"])
    _check(isinstance(opts["group_by_length"], bool), "group_by_length", "true or false", opts["group_by_length"])
    _check(opts["precision"] in PRECISIONS, "precision", f"one of {', '.join(PRECISIONS)}", opts["precision"])
    return TrainingOptions(**opts)


def _positive_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _check(ok: bool, key: str, expected: str, value) -> None:
    if not ok:
        raise ConfigError(f"training option {key!r}: expected {expected}, got {value!r}")
