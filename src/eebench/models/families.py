"""Adapters from Hugging Face encoder models to embed → layers → pool, one per family.

transformers 5.x layers take the *prepared* attention mask (4-d, in the format of the configured attention
implementation, or None when nothing is padded), so `embed` builds it once with the library's own
`create_bidirectional_mask`, exactly as the full models do, and every layer reuses it."""

from __future__ import annotations

import torch
from torch import nn

from .multi_exit import BackboneAdapter, LayerContext


class _TextAdapter(BackboneAdapter):
    """Exits read [CLS] (`pooling="cls"`, the papers' heads) or the mean over real tokens (`"mean"`, how
    sentence-transformer checkpoints such as all-MiniLM-L6-v2 were trained to be read)."""

    def __init__(self, model: nn.Module, pooling: str = "cls"):
        super().__init__()
        self.model = model
        self.config = model.config
        self.hidden_size = model.config.hidden_size
        self.pooling = pooling

    def _context(self, hidden: torch.Tensor, batch: dict[str, torch.Tensor]) -> LayerContext:
        tokens = batch.get("attention_mask")
        if tokens is None or (tokens.device.type == "cpu" and bool(tokens.all())):
            # Nothing padded (always so at batch size 1): no mask to build, and pooling is a plain mean — the
            # masked path costs ~50 µs per call and six operations at every exit. Asked only of a CPU tensor: on
            # a GPU the question would wait for the device (a host sync per call), and the mask costs less.
            return LayerContext()
        # Imported here: the CNN/MLP families load this module too and never need transformers.
        from transformers.masking_utils import create_bidirectional_mask

        mask = create_bidirectional_mask(config=self.config, inputs_embeds=hidden, attention_mask=tokens)
        return LayerContext(mask, tokens)

    def pool(self, hidden: torch.Tensor, ctx: LayerContext) -> torch.Tensor:
        if self.pooling == "cls":
            return hidden[:, 0]
        if ctx.token_mask is None:
            return hidden.mean(dim=1)
        weights = ctx.token_mask.to(hidden.dtype).unsqueeze(-1)
        return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1)


class _PoolerAside:
    """For checkpoints with a pooler: exits pool themselves, so the model's pooler is taken out of it and kept aside
    as `pooler_module` (saved weights use that name) only to seed pooler-linear heads."""

    def _set_pooler_aside(self, model: nn.Module) -> None:
        self.pooler_module = model.pooler
        model.pooler = None

    def pretrained_pooler(self) -> nn.Module | None:
        return self.pooler_module


class BertAdapter(_PoolerAside, _TextAdapter):
    """BERT, MiniLM and RoBERTa (same embeddings → encoder.layer layout; RoBERTa derives positions from padding)."""

    def __init__(self, model: nn.Module, pooling: str = "cls"):
        super().__init__(model, pooling)
        self._set_pooler_aside(model)
        self.n_layers = len(model.encoder.layer)

    def embed(self, batch):
        token_types = batch.get("token_type_ids") if self.config.type_vocab_size > 1 else None
        hidden = self.model.embeddings(input_ids=batch["input_ids"], token_type_ids=token_types)
        return hidden, self._context(hidden, batch)

    def layer(self, index, hidden, ctx):
        return self.model.encoder.layer[index - 1](hidden, ctx.attention_mask)


class DistilBertAdapter(_TextAdapter):
    def __init__(self, model: nn.Module, pooling: str = "cls"):
        super().__init__(model, pooling)
        self.n_layers = len(model.transformer.layer)

    def embed(self, batch):
        hidden = self.model.embeddings(batch["input_ids"])
        return hidden, self._context(hidden, batch)

    def layer(self, index, hidden, ctx):
        return self.model.transformer.layer[index - 1](hidden, ctx.attention_mask)


class AlbertAdapter(_PoolerAside, _TextAdapter):
    """ALBERT shares one layer group across depth: exit i follows the i-th application of the shared layer."""

    def __init__(self, model: nn.Module, pooling: str = "cls"):
        super().__init__(model, pooling)
        self._set_pooler_aside(model)
        self.n_layers = model.config.num_hidden_layers

    def pretrained_pooler(self) -> nn.Module | None:
        return _DensePooler(self.pooler_module) if self.pooler_module is not None else None

    def embed(self, batch):
        hidden = self.model.embeddings(input_ids=batch["input_ids"], token_type_ids=batch.get("token_type_ids"))
        hidden = self.model.encoder.embedding_hidden_mapping_in(hidden)
        return hidden, self._context(hidden, batch)

    def layer(self, index, hidden, ctx):
        config = self.config
        group = int((index - 1) / (config.num_hidden_layers / config.num_hidden_groups))
        return self.model.encoder.albert_layer_groups[group](hidden, ctx.attention_mask)


class _DensePooler(nn.Module):
    """ALBERT's pooler is a bare Linear; present it with BERT's `.dense` attribute."""

    def __init__(self, dense: nn.Linear):
        super().__init__()
        self.dense = dense


class ViTAdapter(_PoolerAside, BackboneAdapter):
    """ViT: patch embeddings + [CLS]; every exit reads the [CLS] token through the model's final LayerNorm."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self._set_pooler_aside(model)
        self.hidden_size = model.config.hidden_size
        self.n_layers = len(model.layers)

    def embed(self, batch):
        pixels = batch["pixel_values"].to(self.model.embeddings.patch_embeddings.projection.weight.dtype)
        return self.model.embeddings(pixels), LayerContext()

    def layer(self, index, hidden, ctx):
        return self.model.layers[index - 1](hidden)

    def pool(self, hidden, ctx):
        return self.model.layernorm(hidden[:, 0])


FAMILY_ADAPTERS: dict[str, type[BackboneAdapter]] = {
    "bert": BertAdapter,
    "roberta": BertAdapter,
    "distilbert": DistilBertAdapter,
    "albert": AlbertAdapter,
    "vit": ViTAdapter,
}
