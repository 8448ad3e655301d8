"""Options of the captioning tasks, backbones, strategies and training, declared once with the catalogue's
constructors and registered in the catalogue under the captioning kinds (`captioning-task`, `captioning-backbone`,
`captioning-strategy`, `captioning-policy`: the exit policies that run per generated token), so `eebench list`
shows them. Torch-free: the grid checks a whole captioning config with them when Snakemake starts."""

from __future__ import annotations

import dataclasses

from .. import catalogue
from ..catalogue import Option, boolean, check_options, choice, integer, number, path, text
from ..errors import ConfigError
from ..policies.base import FIT_OPTIONS
from ..training.options import TRAINING_OPTIONS
from ..training.strategies import JointKL, TwoStage
from .shapes import REGIONS


def _default(option: Option, default) -> Option:
    """A main-workflow declaration with the captioning default (its type, range and help stay as declared)."""
    return dataclasses.replace(option, default=default, nullable=option.nullable or default is None)


TASKS: dict[str, dict[str, Option]] = {
    "shapes-captions": {
        "train_size": integer("training images", default=1500),
        "val_size": integer("validation images (policies are fitted on them)", default=200),
        "test_size": integer("test images", default=200),
        "image_size": integer("side of the rendered square images, in pixels", default=32, minimum=8),
        "max_groups": integer("most groups of shapes in one scene", default=3, maximum=len(REGIONS)),
        "references": integer("reference captions per image", default=3),
    },
    "coco-captions": {
        "source": choice("where the Karpathy-split captions come from", ("local", "hub"), default="local"),
        "path": path("COCO folder (dataset_coco.json + train2014/, val2014/)", default=None),
        "hub_id": text("hub dataset with the Karpathy records (source: hub)", default="yerevann/coco-karpathy"),
        "max_train": integer("keep the first N training images; null = all", default=None),
        "max_val": integer("keep the first N val images; null = all", default=None),
        "max_test": integer("keep the first N test images; null = all", default=None),
    },
}

_EXIT_HEADS = choice("exit heads: linear = a Linear(hidden, vocab) per exit (CapEEN); shared = ln_f + the LM head",
                     ("linear", "shared"), default="linear")
_SMALL = {
    "image_size": integer("input image side, in pixels", default=32, minimum=8),
    # 4, not 8: with 8-px patches the shipped offline grid's model gave one caption for every image (measured)
    "patch_size": integer("ViT patch side, in pixels", default=4),
    "encoder_layers": integer("ViT encoder layers", default=2),
    "decoder_layers": integer("GPT-2 decoder layers (= exits)", default=4, minimum=2),
    "hidden_size": integer("hidden size of encoder and decoder", default=64),
    "heads": integer("attention heads", default=2),
    "max_length": integer("longest generated caption, in tokens", default=28, minimum=2),
    "exit_heads": _EXIT_HEADS,
}
_SMALL_SWIN = {
    **_SMALL,
    "patch_size": integer("Swin patch side, in pixels", default=4),
    "window_size": integer("Swin attention window side, in patches", default=4),
    "encoder_layers": integer("Swin encoder blocks (one stage, alternately shifted windows)", default=2),
}
# Randomly initialised captioners with a word vocabulary from the training captions (no download).
SMALL_BACKBONES = ("caption-small", "caption-small-swin")


def _hub(encoder: str) -> dict[str, Option]:
    return {
        "encoder": text("image encoder, by hub id", default=encoder),
        "decoder": text("GPT-2 decoder, by hub id", default="gpt2"),
        "pretrained": text("a fine-tuned VisionEncoderDecoderModel (hub id or folder); null = build from encoder "
                           "and decoder", default=None),
        "max_length": integer("longest generated caption, in tokens", default=32, minimum=2),
        "exit_heads": _EXIT_HEADS,
    }


BACKBONES: dict[str, dict[str, Option]] = {
    "caption-small": _SMALL,
    "caption-small-swin": _SMALL_SWIN,
    "vit-gpt2": _hub("google/vit-base-patch16-224-in21k"),
    "swin-gpt2": _hub("microsoft/swin-base-patch4-window7-224-in22k"),
}

STRATEGIES: dict[str, dict[str, Option]] = {
    "joint-kl": JointKL.params,
    # CapEEN: fine-tune the captioner, then train exits 1..L-1 on the frozen model with 0.5·CE + 0.5·KL
    "heads-only": {
        "ce_weight": _default(JointKL.params["ce_weight"], 0.5),
        "kl_weight": _default(JointKL.params["kl_weight"], 0.5),
        "backbone_epochs": number("epochs fine-tuning the captioner on its LM loss; null = the training epochs "
                                  "(0 with a pretrained captioner)", default=None, minimum=0),
        "head_epochs": TwoStage.params["head_epochs"],
    },
}

_TRAINING_DEFAULTS = {"epochs": 10, "max_steps": None, "lr": 1e-3, "batch_size": 32, "warmup_ratio": 0.05,
                      "weight_decay": 0.0, "checkpoint_every": 200, "grad_clip": 1.0}
TRAINING: dict[str, Option] = {key: _default(TRAINING_OPTIONS[key], value) for key, value in _TRAINING_DEFAULTS.items()}

FIT: dict[str, Option] = {
    "tolerance": dataclasses.replace(FIT_OPTIONS["tolerance"], default=0.02, help=(
        "largest allowed CIDEr-D drop against the full model on val (pycocoevalcap's scale: 0.01 = 1 point)")),
    "curve_points": _default(FIT_OPTIONS["curve_points"], 20),
}
LATENCY: dict[str, Option] = {
    "max_images": integer("test images decoded with real early exit", default=50),
}
PREDICT: dict[str, Option] = {"batch_size": integer("images per batch when recording exits", default=32)}
METRICS: dict[str, Option] = {
    "meteor": boolean("score METEOR on test (its Java process takes seconds to start in every evaluate job); "
                      "false = null with the reason, as smoke mode does", default=True),
}


HELP = {
    "shapes-captions": "offline: rendered scenes of coloured shapes with templated captions (CPU, tests)",
    "coco-captions": "COCO 2014, Karpathy split (restval joins train), from a local folder or the hub",
    "caption-small": "random-init ViT + GPT-2 VisionEncoderDecoderModel, word vocabulary; an exit per decoder layer",
    "caption-small-swin": "random-init Swin + GPT-2 VisionEncoderDecoderModel, word vocabulary (smoke stand-in "
                          "for swin-gpt2)",
    "vit-gpt2": "ViT encoder + GPT-2 decoder from the hub (or a fine-tuned captioner); an exit per decoder layer",
    "swin-gpt2": "Swin encoder + GPT-2 decoder from the hub (BEEM/CapEEN's captioner); an exit per decoder layer",
    "joint-kl": "BEEM: the whole captioner, CE + KL to the last exit at every exit and token",
    "heads-only": "CapEEN: fine-tune the captioner, then train the exit heads on it frozen (0.5 CE + 0.5 KL)",
}
# Facts: a backbone's encoder family and whether it downloads hub weights (smoke mode swaps those for a stand-in).
FACTS = {"caption-small": {"family": "vit", "downloads": False},
         "caption-small-swin": {"family": "swin", "downloads": False},
         "vit-gpt2": {"family": "vit", "downloads": True}, "swin-gpt2": {"family": "swin", "downloads": True}}


def _register() -> None:
    for kind, declared in (("captioning-task", TASKS), ("captioning-backbone", BACKBONES),
                           ("captioning-strategy", STRATEGIES)):
        for name, options in declared.items():
            catalogue.register(kind, name, options, HELP[name], **FACTS.get(name, {}))
    # Per-token policies: every policy that decides on an exit's logits alone (or, the oracle, on the full model's
    # token); one that reads other model outputs (lte's learned scores) has none to read during decoding.
    for name, component in catalogue.components("policy").items():
        if not component.facts["needs_outputs"]:
            catalogue.register("captioning-policy", name, component.options, component.help, target=component.target)


_register()


def _named(kind: str, name, given) -> dict:
    return catalogue.get(kind, name).check(given)


def task_options(task: str, options: dict | None) -> dict:
    return _named("captioning-task", task, options)


def backbone_options(backbone: str, options: dict | None) -> dict:
    return _named("captioning-backbone", backbone, options)


def strategy_options(strategy: str, options: dict | None) -> dict:
    return _named("captioning-strategy", strategy, options)


def policy_options(name: str, options: dict | None) -> dict:
    """A captioning policy's options checked (`method`, the policy id, defaults to the name)."""
    options = dict(options or {})
    return _named("captioning-policy", options.pop("method", name), options)


def training_options(options: dict | None, where: str = "training") -> dict:
    return check_options(TRAINING, options, f"{where}: captioning training")


def check_combination(backbone: str, backbone_opts: dict, strategy: str) -> None:
    """A backbone's options that a strategy cannot train: shared exits have no parameters of their own."""
    if strategy == "heads-only" and backbone_opts["exit_heads"] == "shared":
        raise ConfigError(f"strategy 'heads-only' with backbone {backbone!r} option exit_heads 'shared': shared exits "
                          "have no parameters of their own to train; use exit_heads 'linear' or strategy 'joint-kl'")
