"""The multi-exit wrapper: a backbone adapter (embed → layers → pool) plus one exit head after every layer.

Training runs `forward` (all exits at once); real early-exit inference calls `embed`, `layer(i)` and `exit_head(i)`
itself, layer by layer, on the samples still in flight. Both use the same modules, so their outputs agree.
Layers and exits are numbered from 1, as the policies number them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from ..errors import ConfigError


@dataclass
class LayerContext:
    """What every layer needs besides the hidden states: the prepared attention mask for transformers, and the
    [B, T] token mask (1 = real token) that mean pooling averages over."""

    attention_mask: torch.Tensor | None = None
    token_mask: torch.Tensor | None = None

    def take(self, indices: torch.Tensor) -> "LayerContext":
        return LayerContext(*(None if mask is None else mask[indices] for mask in (self.attention_mask, self.token_mask)))


class BackboneAdapter(nn.Module):
    """One per backbone family. `n_layers` exits; `hidden_size` is the width of `pool`'s output (`exit_sizes`
    overrides it per exit for backbones whose exits read features of different widths, such as B-LeNet)."""

    n_layers: int
    hidden_size: int

    @property
    def exit_sizes(self) -> tuple[int, ...]:
        """The width of `pool`'s output after each layer: what each exit head reads."""
        return (self.hidden_size,) * self.n_layers

    def embed(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, LayerContext]:
        raise NotImplementedError

    def layer(self, index: int, hidden: torch.Tensor, ctx: LayerContext) -> torch.Tensor:
        raise NotImplementedError

    def pool(self, hidden: torch.Tensor, ctx: LayerContext) -> torch.Tensor:
        """[B, ..., H] → [B, H]: the representation every exit head reads."""
        raise NotImplementedError

    def pretrained_pooler(self) -> nn.Module | None:
        """The checkpoint's own pooler (dense + tanh), copied into pooler-linear exit heads; None if it has none."""
        return None


class ExitHead(nn.Module):
    """Linear classifier on the adapter's `pool` output ([CLS] or the token mean for text, per the `pool` option);
    `pooler=True` puts DeeBERT's dense+tanh pooler in front of it."""

    def __init__(self, hidden_size: int, n_classes: int, dropout: float, pooler: bool):
        super().__init__()
        self.pooler = nn.Sequential(nn.Linear(hidden_size, hidden_size), nn.Tanh()) if pooler else nn.Identity()
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(hidden_size, n_classes)

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.dropout(self.pooler(pooled)))

    def infer(self, pooled: torch.Tensor) -> torch.Tensor:
        """`forward` at inference (no dropout)."""
        return head_logits(pooled, *self.plain_weights())

    def plain_weights(self) -> tuple[tuple[torch.Tensor, torch.Tensor] | None, tuple[torch.Tensor, torch.Tensor]]:
        """(pooler dense or None, classifier) as plain tensors sharing the parameters' storage: at batch size 1
        every operation on an `nn.Parameter` costs ~5 µs of `__torch_function__` dispatch, as much as the matrix
        product itself, and so do the module calls around it."""
        dense = None if isinstance(self.pooler, nn.Identity) else self.pooler[0]
        return (None if dense is None else (dense.weight.detach(), dense.bias.detach()),
                (self.classifier.weight.detach(), self.classifier.bias.detach()))


def head_logits(pooled: torch.Tensor, dense, classifier) -> torch.Tensor:
    """An exit head at inference from its `plain_weights`."""
    if dense is not None:
        pooled = torch.tanh(nn.functional.linear(pooled, *dense))
    return nn.functional.linear(pooled, *classifier)


@dataclass
class MultiExitOutput:
    logits: torch.Tensor  # [B, L, C]
    lte_scores: torch.Tensor | None = None  # [B, L], BERxiT's predicted probability that each exit is correct


class MultiExitModel(nn.Module):
    def __init__(
        self,
        adapter: BackboneAdapter,
        n_classes: int,
        exit_head: str = "linear",
        head_dropout: float = 0.1,
        lte_heads: bool | str = False,
    ):
        super().__init__()
        self.adapter = adapter
        self.n_classes = n_classes
        pooler = exit_head == "pooler-linear"
        sizes = adapter.exit_sizes
        self.exits = nn.ModuleList(ExitHead(size, n_classes, head_dropout, pooler) for size in sizes)
        pretrained = adapter.pretrained_pooler() if pooler else None
        if pretrained is not None:
            for head in self.exits:
                head.pooler[0].load_state_dict(pretrained.dense.state_dict())
        # BERxiT's learning-to-exit head: sigmoid(linear(pooled)), trained to predict "this exit is right". One
        # head shared by every exit as in the authors' code ("shared"), or one per exit ("per-exit"; True, the
        # value of older model records, means per-exit).
        n_lte = {False: 0, None: 0, "shared": 1, "per-exit": adapter.n_layers, True: adapter.n_layers}[lte_heads]
        if n_lte == 1 and len(set(sizes)) > 1:
            raise ConfigError(f"a shared learning-to-exit head needs exits of one width, but this backbone's exits "
                              f"read {', '.join(map(str, sizes))} features; use lte_heads: per-exit")
        self.lte = nn.ModuleList(nn.Linear(size, 1) for size in sizes[:n_lte]) if n_lte else None

    @property
    def n_exits(self) -> int:
        return self.adapter.n_layers

    @property
    def has_lte(self) -> bool:
        return self.lte is not None

    def embed(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, LayerContext]:
        return self.adapter.embed(batch)

    def layer(self, index: int, hidden: torch.Tensor, ctx: LayerContext) -> torch.Tensor:
        return self.adapter.layer(index, hidden, ctx)

    def exit_head(self, index: int, hidden: torch.Tensor, ctx: LayerContext) -> torch.Tensor:
        return self.exits[index - 1](self.adapter.pool(hidden, ctx))

    def lte_head(self, index: int) -> nn.Module:
        return self.lte[0] if len(self.lte) == 1 else self.lte[index - 1]

    def exit_logits(self, index: int, hidden: torch.Tensor, ctx: LayerContext) -> torch.Tensor:
        """`exit_head` for inference: the head called directly, without dropout."""
        return self.exits[index - 1].infer(self.adapter.pool(hidden, ctx))

    def exit_logits_for_call(self) -> Callable[[int, torch.Tensor, LayerContext], torch.Tensor]:
        """`exit_logits` with the heads' plain weights and the pooling looked up once, for one inference call
        (looked up per call, so the weights are the model's current ones)."""
        pool, heads = self.adapter.pool, [head.plain_weights() for head in self.exits]
        return lambda index, hidden, ctx: head_logits(pool(hidden, ctx), *heads[index - 1])

    def lte_score(self, index: int, hidden: torch.Tensor, ctx: LayerContext) -> torch.Tensor:
        return torch.sigmoid(self.lte_head(index)(self.adapter.pool(hidden, ctx))).squeeze(-1)

    def pooled_states(self, batch: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        """The pooled representation after every layer, [B, H] each."""
        hidden, ctx = self.embed(batch)
        pooled = []
        for index in range(1, self.n_exits + 1):
            hidden = self.layer(index, hidden, ctx)
            pooled.append(self.adapter.pool(hidden, ctx))
        return pooled

    def forward(self, batch: dict[str, torch.Tensor], frozen_backbone: bool = False) -> MultiExitOutput:
        """All exits. `frozen_backbone` runs the backbone without gradients (stage 2 of two-stage/distill)."""
        with torch.set_grad_enabled(torch.is_grad_enabled() and not frozen_backbone):
            pooled = self.pooled_states(batch)
        logits = torch.stack([head(p) for head, p in zip(self.exits, pooled)], dim=1)
        lte = None
        if self.lte is not None:
            lte = torch.cat([torch.sigmoid(self.lte_head(i)(p)) for i, p in enumerate(pooled, 1)], dim=1)
        return MultiExitOutput(logits=logits, lte_scores=lte)

    def backbone_parameters(self) -> list[nn.Parameter]:
        return list(self.adapter.parameters())
