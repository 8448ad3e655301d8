"""Training hyper-parameters (the config's `training` mapping): their declarations, defaults and checks.

Torch-free, so config validation checks them when the DAG starts."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..catalogue import boolean, check_options, choice, integer, number, text

# BERT fine-tuning defaults (Devlin et al.; PABEE/DeeBERT/BEEM use the same): lr 2e-5, batch 32, 10% warm-up,
# weight decay 0.01, max length 128 for GLUE.
TRAINING_OPTIONS = {
    "epochs": number("passes over the training data per phase", default=1, above=0),
    "max_steps": integer("cap on optimizer steps per training phase; null = no cap", default=None),
    "lr": number("peak learning rate (AdamW)", default=2e-5, above=0),
    "batch_size": integer("training batch size", default=32),
    "warmup_ratio": number("share of the steps with a linear warm-up", default=0.1, minimum=0, maximum=1),
    "weight_decay": number("AdamW weight decay", default=0.01, minimum=0),
    "max_length": integer("longest tokenised text input (tokens)", default=128),
    "precision": choice("floating-point precision of training and, unless told otherwise, of inference: auto = "
                        "bf16 where the CPU/GPU has native bf16, else fp32; fp32-strict = fp32 without TF32",
                        ("auto", "fp32", "fp32-strict", "bf16", "fp16"), default="auto"),
    "device": text("where to train: the first GPU if any (auto), cpu, cuda or cuda:N", default="auto",
                   pattern=r"auto|cpu|cuda(:[0-9]+)?"),
    "checkpoint_every": integer("optimizer steps between resumable checkpoints", default=500),
    "grad_clip": number("largest gradient norm (clipped above it)", default=1.0, above=0),
    # Batches of similar length (less padding, ~2x faster on text) instead of the papers' uniformly random batches;
    # false trains exactly as they do. No effect on images, whose samples all have the same size.
    "group_by_length": boolean("group text batches by length (less padding); false = the papers' random batches",
                               default=True),
}
TRAINING_DEFAULTS = {key: option.default for key, option in TRAINING_OPTIONS.items()}


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
    return TrainingOptions(**check_options(TRAINING_OPTIONS, given, "training options"))
