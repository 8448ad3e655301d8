"""Simulation: a policy driven layer by layer through its incremental `step` over cached exit logits, as real
early-exit inference drives it."""

from __future__ import annotations

import numpy as np

from ..exits import layer_predictions_at, validate_labels
from .base import ExitPolicy, State, check_class_labels


def run_steps(policy: ExitPolicy, logits: np.ndarray, state: State, compact: bool = True) -> np.ndarray:
    """Drive `step` layer by layer; with `compact`, only the samples still in flight are passed (as real
    inference does), else every sample every layer and its first exit counts. Returns exit layers [N]."""
    n, n_exits = logits.shape[:2]
    exit_layers = np.full(n, n_exits, dtype=np.int64)
    exited = np.zeros(n, dtype=bool)
    live = np.arange(n)
    for layer in range(1, n_exits):
        if live.size == 0:
            break
        mask = np.asarray(policy.step(state, layer, logits[live, layer - 1]), dtype=bool)
        if compact:
            exit_layers[live[mask]] = layer
            live, state = live[~mask], state.take(~mask)
        else:
            new = mask & ~exited
            exit_layers[new] = layer
            exited |= mask
    return exit_layers


def simulate(policy: ExitPolicy, logits, labels=None, *, compact: bool = True, **inputs):
    """Run a policy over cached exit logits [N, L, C] through its incremental `step`.
    Returns (exit_layer [N] int, 1-based; prediction [N]). Only `oracle` reads `labels`; `lte` reads
    `lte_scores` [N, L]."""
    policy.check_params(policy.get_params())
    logits = policy.check_logits(logits)
    n, n_exits = logits.shape[:2]
    if labels is not None:
        labels = check_class_labels(validate_labels(labels, n), logits.shape[2])
    inputs = policy.check_inputs(n, n_exits, {**inputs, "labels": labels})
    if getattr(policy, "online", False):
        exit_layers = policy.run_stream(logits, **inputs)
    else:
        exit_layers = run_steps(policy, logits, policy.start(n, **inputs), compact=compact)
    rows = np.arange(n)
    return exit_layers, layer_predictions_at(logits, rows, exit_layers)
