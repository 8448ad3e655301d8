"""Options of the captioning backbones, strategies and training, torch-free (the DAG validates them)."""

from __future__ import annotations

from ..errors import ConfigError
from ..models.options import merge_options, require_choice

SMALL = {"image_size": 32, "patch_size": 8, "encoder_layers": 2, "decoder_layers": 4, "hidden_size": 64,
         "heads": 2, "max_length": 28, "exit_heads": "linear"}
HUB = {"encoder": "google/vit-base-patch16-224-in21k", "decoder": "gpt2", "pretrained": None, "max_length": 32,
       "exit_heads": "linear"}
BACKBONES = {
    "caption-small": SMALL,
    "vit-gpt2": HUB,
    "swin-gpt2": {**HUB, "encoder": "microsoft/swin-base-patch4-window7-224-in22k"},
}


def backbone_options(backbone: str, options: dict | None) -> dict:
    if backbone not in BACKBONES:
        raise ConfigError(f"captioning backbone {backbone!r} is unknown; valid: {', '.join(BACKBONES)}")
    merged = merge_options(options, BACKBONES[backbone], f"backbone {backbone!r} options")
    require_choice(merged["exit_heads"], ("linear", "shared"), f"backbone {backbone!r} option 'exit_heads'")
    return merged


STRATEGIES = {
    "joint-kl": {"ce_weight": 1.0, "kl_weight": 1.0, "temperature": 1.0},
    "heads-only": {"ce_weight": 0.5, "kl_weight": 0.5, "backbone_epochs": None, "head_epochs": None},
}
TRAINING = {"epochs": 10, "lr": 1e-3, "batch_size": 32, "warmup_ratio": 0.05, "weight_decay": 0.0,
            "checkpoint_every": 200, "max_steps": None}


def strategy_options(strategy: str, options: dict | None) -> dict:
    if strategy not in STRATEGIES:
        raise ConfigError(f"captioning strategy {strategy!r} is unknown; valid: {', '.join(STRATEGIES)}")
    return merge_options(options, STRATEGIES[strategy], f"strategy {strategy!r} options")


def training_options(options: dict | None, where: str = "training") -> dict:
    return merge_options(options, TRAINING, f"{where}: captioning training options")
