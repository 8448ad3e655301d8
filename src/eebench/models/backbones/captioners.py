"""Captioners (kind `captioner`): a VisionEncoderDecoderModel — an image encoder and a GPT-2 decoder with an exit
after every decoder layer — for the caption tasks (modality `image-caption`; `eebench.captioning` builds them).
`caption-small*` are randomly initialised with a word vocabulary from the training captions (no download);
`vit-gpt2` and `swin-gpt2` load hub weights (BEEM/CapEEN's captioner is Swin + GPT-2)."""

from __future__ import annotations

from ...captioning.data import MODALITY
from ...catalogue import choice, integer, text
from ...errors import ConfigError
from . import BackboneSpec, register_backbone

CAPTION = (MODALITY,)
EXIT_HEADS = choice("exit heads: linear = a Linear(hidden, vocab) per exit (CapEEN); shared = ln_f + the LM head",
                    ("linear", "shared"), default="linear")
SMALL = {
    "image_size": integer("input image side, in pixels", default=32, minimum=8),
    # 4, not 8: with 8-px patches the shipped offline grid's model gave one caption for every image (measured)
    "patch_size": integer("ViT patch side, in pixels", default=4),
    "encoder_layers": integer("ViT encoder layers", default=2),
    "decoder_layers": integer("GPT-2 decoder layers (= exits)", default=4, minimum=2),
    "hidden_size": integer("hidden size of encoder and decoder", default=64),
    "heads": integer("attention heads", default=2),
    "max_length": integer("longest generated caption, in tokens", default=28, minimum=2),
    "exit_heads": EXIT_HEADS,
}
SMALL_SWIN = {
    **SMALL,
    "patch_size": integer("Swin patch side, in pixels", default=4),
    "window_size": integer("Swin attention window side, in patches", default=4),
    "encoder_layers": integer("Swin encoder blocks (one stage, alternately shifted windows)", default=2),
}


def _hub(encoder: str) -> dict:
    return {
        "encoder": text("image encoder, by hub id", default=encoder),
        "decoder": text("GPT-2 decoder, by hub id", default="gpt2"),
        "pretrained": text("a fine-tuned VisionEncoderDecoderModel (hub id or folder); null = build from encoder "
                           "and decoder", default=None),
        "max_length": integer("longest generated caption, in tokens", default=32, minimum=2),
        "exit_heads": EXIT_HEADS,
    }


for _spec in (
    BackboneSpec("caption-small", "captioner", "vit", CAPTION, SMALL,
                 "random-init ViT + GPT-2 captioner, word vocabulary; an exit per decoder layer"),
    BackboneSpec("caption-small-swin", "captioner", "swin", CAPTION, SMALL_SWIN,
                 "random-init Swin + GPT-2 captioner, word vocabulary (smoke stand-in for swin-gpt2)"),
    BackboneSpec("vit-gpt2", "captioner", "vit", CAPTION, _hub("google/vit-base-patch16-224-in21k"),
                 "ViT encoder + GPT-2 decoder from the hub (or a fine-tuned captioner); an exit per decoder layer"),
    BackboneSpec("swin-gpt2", "captioner", "swin", CAPTION, _hub("microsoft/swin-base-patch4-window7-224-in22k"),
                 "Swin encoder + GPT-2 decoder from the hub (BEEM/CapEEN's captioner); an exit per decoder layer"),
):
    register_backbone(_spec)


def downloads(options: dict) -> bool:
    """Whether a captioner with these options loads hub weights (the random-init ones declare no encoder)."""
    return "encoder" in options


def check_combination(backbone: str, options: dict, strategy: str) -> None:
    """A captioner's options that a strategy cannot train: shared exits have no parameters of their own."""
    if strategy == "heads-only" and options["exit_heads"] == "shared":
        raise ConfigError(f"strategy 'heads-only' with backbone {backbone!r} option exit_heads 'shared': shared exits "
                          "have no parameters of their own to train; use exit_heads 'linear' or strategy 'joint-kl'")
