"""Knob sweeps and the fit rule: exit layers [K, N] of K knob values at once, their metrics and speed-ups, and
the choice of the knob within the tolerance. Threshold policies find every threshold's first crossing of their
score matrix [N, L] in one vectorised pass."""

from __future__ import annotations

import numpy as np

from ..exits import layer_predictions, layer_predictions_at
from ..metrics import task_metrics
from ..metrics.speedup import mean_cost_speedup


def crossing_ranks(scores: np.ndarray, thresholds: np.ndarray, exit_when: str) -> tuple[np.ndarray, np.ndarray]:
    """The thresholds' sorting order and, for each sample and layer l < L, the number of sorted thresholds <= the
    running max (">=") or min ("<") of its scores up to l: a sample waits at l for threshold rank r iff
    r >= rank (">=") or r < rank ("<"), and the layers it waits at form a prefix, as the running value is monotone."""
    accumulate = np.maximum.accumulate if exit_when == ">=" else np.minimum.accumulate
    order = np.argsort(thresholds, kind="stable")
    return order, np.searchsorted(thresholds[order], accumulate(scores[:, :-1], axis=1), side="right")


def first_crossing(scores: np.ndarray, thresholds, exit_when: str = ">=") -> np.ndarray:
    """Exit layers [K, N] (1-based) for each threshold: the first layer l < L whose score satisfies
    `score exit_when threshold`, else L.

    The running max (min) of a sample's scores crosses a threshold exactly where its first score does, and it is
    monotone, so the exit layer is 1 + the number of layers whose running value stays on the waiting side. With
    the thresholds sorted, each running value's side flips at one position (`crossing_ranks`); a histogram of those
    positions, summed cumulatively, gives every threshold's count in O(N·L + N·K) rather than O(N·L·K)."""
    thresholds = np.asarray(thresholds, dtype=np.float64).reshape(-1)
    n, n_layers = scores.shape
    k = thresholds.size
    if n_layers == 1 or n == 0:
        return np.ones((k, n), dtype=np.int64) * n_layers
    order, ranks = crossing_ranks(scores, thresholds, exit_when)
    cells = (ranks * n + np.arange(n)[:, None]).ravel()
    # In place: the [K, N] count matrix is the largest array here, and the exit layers overwrite it.
    exits = np.bincount(cells, minlength=(k + 1) * n).reshape(k + 1, n)[:k]
    np.cumsum(exits, axis=0, out=exits)  # layers at or below each rank
    if exit_when == ">=":
        exits += 1
    else:
        np.subtract(n_layers, exits, out=exits)
    return exits if np.all(order[1:] > order[:-1]) else exits[np.argsort(order)]


def threshold_outcomes(scores, thresholds, layer_preds, labels, costs, metric, exit_when=">=") -> tuple:
    """`knob_outcomes` of `first_crossing(scores, thresholds)`: the metric and speed-up of each threshold.

    For accuracy with layer speed-ups both are counts per threshold (correct exits, exit layers in total), and a
    sample's exit moves one layer each time the threshold rank passes one of its `crossing_ranks`, so weighted
    histograms of those ranks give every threshold's counts in O(N·L + K) without the [K, N] exits. Counts are
    exact integers, so the figures equal `knob_outcomes`' to the bit; other metrics and FLOPs go through it."""
    thresholds = np.asarray(thresholds, dtype=np.float64).reshape(-1)
    n, n_layers = scores.shape
    if metric != "accuracy" or costs is not None or n_layers == 1 or n == 0:
        return knob_outcomes(first_crossing(scores, thresholds, exit_when), layer_preds, labels, costs, metric)
    order, ranks = crossing_ranks(scores, thresholds, exit_when)
    correct = (layer_preds == labels[:, None]).astype(np.float64)
    k = thresholds.size
    moves = np.bincount(ranks.ravel(), minlength=k + 1)[:k].cumsum()
    gains = np.bincount(ranks.ravel(), weights=np.diff(correct, axis=1).ravel(), minlength=k + 1)[:k].cumsum()
    if exit_when == ">=":  # samples start at exit 1 and move deeper
        correct_counts, exit_totals = correct[:, 0].sum() + gains, n + moves
    else:  # samples start at exit L and move shallower
        correct_counts, exit_totals = correct[:, -1].sum() - gains, n * n_layers - moves
    sorted_outcomes = (correct_counts / n, n_layers / (exit_totals / n))
    unsorted = np.argsort(order)
    return tuple(values[unsorted] for values in sorted_outcomes)


def gather_predictions(layer_preds: np.ndarray, exit_layers: np.ndarray) -> np.ndarray:
    """Predictions [..., N] at the given exit layers from the per-layer predictions [N, L]."""
    n, n_exits = layer_preds.shape
    return np.take(layer_preds.ravel(), exit_layers - 1 + np.arange(n) * n_exits)


def exit_predictions(logits: np.ndarray, exit_layers: np.ndarray) -> np.ndarray:
    """Predictions [K, N] at exit layers [K, N]: read at each row's exits when there are fewer rows than layers
    (knob-free policies have one), else gathered from every layer's predictions computed once."""
    if exit_layers.shape[0] < logits.shape[1]:
        rows = np.arange(logits.shape[0])
        return np.stack([layer_predictions_at(logits, rows, exit_row) for exit_row in exit_layers])
    return gather_predictions(layer_predictions(logits), exit_layers)


def score_grid(scores: np.ndarray, n_points: int, exit_when: str = ">=") -> np.ndarray:
    """Up to `n_points` thresholds taken from the observed scores of exits 1..L-1 (where decisions change),
    evenly spaced in rank, plus one beyond them that keeps every sample to the final exit."""
    head = scores[:, :-1].ravel() if scores.shape[1] > 1 else scores.ravel()
    values = np.unique(head[np.isfinite(head)])
    if values.size == 0:
        return np.array([0.0])
    picks = values[np.unique(np.linspace(0, values.size - 1, max(n_points - 1, 1)).round().astype(int))]
    never = np.nextafter(values[-1], np.inf) if exit_when == ">=" else np.nextafter(values[0], -np.inf)
    return np.concatenate([picks, [never]])


def knob_outcomes(exits, layer_preds, labels, costs, metric) -> tuple[np.ndarray, np.ndarray]:
    """Primary metric and speed-up of each row of `exits` [K, N]."""
    scores = task_metrics.primary_rows(metric, labels, gather_predictions(layer_preds, exits))
    return scores, mean_cost_speedup(exits, layer_preds.shape[1], costs)


def pick_within_tolerance(scores, speedups, final_score, tolerance) -> int:
    """Index of the largest speed-up among the candidates whose metric drop against the final layer is
    <= tolerance (ties: higher metric, then the earlier candidate); if none qualifies, the best metric."""
    allowed = scores >= final_score - tolerance - 1e-12
    if not allowed.any():
        return int(np.argmax(scores))
    order = np.lexsort((-scores, -speedups))  # primary key last: speed-up, then metric
    return int(order[np.argmax(allowed[order])])
