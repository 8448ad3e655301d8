"""Shared helpers of the policy and metric tests: hand-written exit outputs from probabilities."""

from __future__ import annotations

import numpy as np


def logits_from_probs(probs) -> np.ndarray:
    """Logits whose softmax is `probs` [N, L, C] (log-probabilities)."""
    return np.log(np.asarray(probs, dtype=np.float64)).astype(np.float32)


def binary(*rows) -> np.ndarray:
    """Logits [N, L, 2] from each sample's list of P(class 1) per exit."""
    p1 = np.asarray(rows, dtype=np.float64)
    return logits_from_probs(np.stack([1 - p1, p1], axis=-1))


def synthetic_exits(n=400, n_exits=6, n_classes=3, seed=0, signal=0.5):
    """Random multi-exit logits whose later exits are more often right (a rough real model)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, n_classes, n)
    depth = np.arange(1, n_exits + 1)[None, :, None] * signal
    logits = rng.normal(size=(n, n_exits, n_classes)) + depth * np.eye(n_classes)[labels][:, None, :]
    return logits.astype(np.float32), labels
