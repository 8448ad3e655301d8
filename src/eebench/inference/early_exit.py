"""Real early-exit inference: layers run only for the samples still in flight.

After layer l the policy decides on exit l's logits of the live samples; those it lets go leave the batch (their
hidden states, attention masks and policy state are dropped — compaction), the rest go on to layer l + 1. The final
exit always exits. Policies with a torch rule (`device_rules`) decide on the model's device, with the decisions of
their NumPy `step`; the others call that `step` itself (the same `start`/`step` interface as simulation)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..errors import ConfigError
from ..models.multi_exit import MultiExitModel
from .device_rules import DeviceRule, device_rule, take


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
    their scores to the policy layer by layer, as `lte_scores`. Policies with a torch rule (`device_rules`) decide
    on the model's device; the others through their NumPy `step`."""
    rule = device_rule(policy, model.n_exits)
    if rule is None:
        return _numpy_steps(model, policy, batch, labels)
    return _device_steps(model, policy, rule, batch, labels)


def _device_steps(model: MultiExitModel, policy, rule: DeviceRule, batch, labels) -> EarlyExitResult:
    """Exit heads run only where the rule decides (or a sample leaves), and each layer where the policy can exit
    costs one read of the rule's verdict; samples it marks uncertain are settled by the policy's NumPy `step`."""
    n_exits = model.n_exits
    exit_logits = model.exit_logits_for_call()
    hidden, ctx = model.embed(batch)
    n, device = hidden.shape[0], hidden.device
    inputs = _policy_inputs(policy, model, n, labels)
    state = rule.start(n, torch.as_tensor(inputs["labels"], device=device) if "labels" in inputs else None, device)
    reads_lte = "lte_scores" in policy.sample_inputs
    live = np.arange(n)
    exit_layer = np.full(n, n_exits, dtype=np.int64)
    exits: list[tuple[np.ndarray, torch.Tensor]] = []  # (rows, their exit logits) as samples leave
    for layer in range(1, n_exits + 1):
        hidden = model.layer(layer, hidden, ctx)
        if layer == n_exits:
            exits.append((live, exit_logits(layer, hidden, ctx)))
            break
        can_exit = rule.can_exit(layer)
        if not (can_exit or rule.keeps_state):
            continue
        logits = exit_logits(layer, hidden, ctx) if rule.reads_logits else None
        lte = model.lte_score(layer, hidden, ctx) if reads_lte else None
        verdict = rule.decide(state, layer, len(live), logits, lte)
        if not can_exit:
            continue
        leave, unsure = rule.read(verdict)
        if unsure is not None and unsure.any():
            rows = np.flatnonzero(unsure)
            unsure_logits = logits[torch.from_numpy(rows).to(device)].float().cpu().numpy()
            leave[rows] = np.asarray(policy.step(policy.start(rows.size), layer, unsure_logits), dtype=bool)
        if not leave.any():
            continue
        exit_layer[live[leave]] = layer
        if leave.all():
            exits.append((live, logits if logits is not None else exit_logits(layer, hidden, ctx)))
            break
        rows = torch.from_numpy(np.flatnonzero(leave)).to(device)
        leaving_logits = logits[rows] if logits is not None else exit_logits(layer, hidden[rows], ctx.take(rows))
        exits.append((live[leave], leaving_logits))
        keep = torch.from_numpy(np.flatnonzero(~leave)).to(device)
        hidden, ctx, state, live = hidden[keep], ctx.take(keep), take(state, keep), live[~leave]
    exit_logits = np.zeros((n, model.n_classes), dtype=np.float32)
    for rows, logits in exits:
        exit_logits[rows] = logits.float().cpu().numpy()
    return EarlyExitResult(exit_layer, exit_logits)


def _numpy_steps(model: MultiExitModel, policy, batch, labels) -> EarlyExitResult:
    """The NumPy path: exit l's logits of the live samples go to the policy's `step`."""
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
    return model.exit_logits_for_call()(model.n_exits, hidden, ctx).float().cpu().numpy()


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
