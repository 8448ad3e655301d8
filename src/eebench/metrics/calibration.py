"""Calibration: equal-width confidence bins on [0, 1], reliability diagrams and expected calibration error."""

from __future__ import annotations

import numpy as np


def bin_index(confidence, n_bins: int) -> np.ndarray:
    """Bin of each confidence: floor(c * B), with c = 1 in the last bin."""
    return np.minimum((np.asarray(confidence) * n_bins).astype(np.int64), n_bins - 1)


def reliability_diagram(confidence, correct, n_bins: int = 10) -> dict[str, list]:
    """Per bin: edges, sample count, mean confidence and accuracy (None for empty bins)."""
    confidence = np.asarray(confidence, dtype=float)
    correct = np.asarray(correct, dtype=float)
    bins = bin_index(confidence, n_bins)
    counts = np.bincount(bins, minlength=n_bins)
    conf_sum = np.bincount(bins, weights=confidence, minlength=n_bins)
    correct_sum = np.bincount(bins, weights=correct, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf, accuracy = conf_sum / counts, correct_sum / counts
    return {
        "edges": np.linspace(0.0, 1.0, n_bins + 1).tolist(),
        "count": counts.tolist(),
        "confidence": [None if c == 0 else float(v) for c, v in zip(counts, mean_conf)],
        "accuracy": [None if c == 0 else float(v) for c, v in zip(counts, accuracy)],
    }


def expected_calibration_error(confidence, correct, n_bins: int = 15) -> float:
    """ECE = sum_b (n_b / N) |acc_b - conf_b| over equal-width bins."""
    confidence = np.asarray(confidence, dtype=float)
    correct = np.asarray(correct, dtype=float)
    bins = bin_index(confidence, n_bins)
    gap = np.bincount(bins, weights=correct - confidence, minlength=n_bins)
    return float(np.abs(gap).sum() / max(confidence.size, 1))
