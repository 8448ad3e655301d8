"""Real early-exit inference: layers run only for the samples still in flight.

The same policy object as in simulation decides, through the same `start`/`step` interface: after layer l the
policy sees exit l's logits of the live samples; those it lets go leave the batch (their hidden states, attention
masks and policy state are dropped — compaction), the rest go on to layer l + 1. The final exit always exits."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..errors import ConfigError
from ..models.multi_exit import MultiExitModel


@dataclass
class EarlyExitResult:
    exit_layer: np.ndarray  # [B] 1-based
    logits: np.ndarray  # [B, C] the logits of the exit each sample left at


@torch.inference_mode()
def early_exit_predict(
    model: MultiExitModel, policy, batch: dict[str, torch.Tensor], labels: np.ndarray | None = None
) -> EarlyExitResult:
    """Early-exit `batch` (any size; 1 is the latency-critical case) under `policy` (from `eebench.policies`).
    `labels` is passed only to policies that read them (`oracle`). A model with learning-to-exit heads feeds
    their scores to the policy layer by layer, as `lte_scores`."""
    n_exits = model.n_exits
    hidden, ctx = model.embed(batch)
    n = hidden.shape[0]
    state = policy.start(n, **_policy_inputs(policy, model, n, labels))
    live = np.arange(n)
    exit_layer = np.full(n, n_exits, dtype=np.int64)
    exit_logits = np.zeros((n, model.n_classes), dtype=np.float32)
    for layer in range(1, n_exits + 1):
        hidden = model.layer(layer, hidden, ctx)
        logits = model.exit_head(layer, hidden, ctx).float().cpu().numpy()
        if layer == n_exits:
            exit_logits[live] = logits
            break
        if "lte_scores" in policy.sample_inputs:
            state.lte_scores[:, layer - 1] = model.lte_score(layer, hidden, ctx).float().cpu().numpy()
        leaving = np.asarray(policy.step(state, layer, logits), dtype=bool)
        if leaving.any():
            exit_layer[live[leaving]] = layer
            exit_logits[live[leaving]] = logits[leaving]
            staying = ~leaving
            if not staying.any():
                break
            keep = torch.from_numpy(np.flatnonzero(staying)).to(hidden.device)
            hidden, ctx, state, live = hidden[keep], ctx.take(keep), state.take(staying), live[staying]
    return EarlyExitResult(exit_layer, exit_logits)


@torch.inference_mode()
def full_depth_predict(model: MultiExitModel, batch: dict[str, torch.Tensor]) -> np.ndarray:
    """The baseline without early exit: every layer, then the final exit only. [B, C] logits."""
    hidden, ctx = model.embed(batch)
    for layer in range(1, model.n_exits + 1):
        hidden = model.layer(layer, hidden, ctx)
    return model.exit_head(model.n_exits, hidden, ctx).float().cpu().numpy()


def _policy_inputs(policy, model: MultiExitModel, n: int, labels) -> dict[str, np.ndarray]:
    inputs = {}
    for name in policy.sample_inputs:
        if name == "lte_scores":
            if not model.has_lte:
                raise ConfigError(
                    f"policy '{policy.id}' needs learning-to-exit heads, which only strategy 'alternating' trains"
                )
            inputs[name] = np.zeros((n, model.n_exits), dtype=np.float32)  # filled in layer by layer
        elif name == "labels":
            if labels is None:
                raise ValueError(f"policy '{policy.id}' reads the labels; pass them")
            inputs[name] = np.asarray(labels)
    return inputs
