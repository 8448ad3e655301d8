"""`oracle`: exit at the earliest exit whose prediction is correct, at the final exit when none is. It reads the
labels, so it is a reference every table shows (best accuracy at the least depth), not a method one can deploy.
Classification only: for regression outputs "correct" is undefined.

`least_depth_within_tolerance` is the limit the leaderboard reads every method against: with hindsight, the least
mean depth at which the test metric stays at most `tolerance` below the final exit's. Samples no exit gets right
leave at exit 1 (they are wrong wherever they leave), and correct exits are bought cheapest first until the metric
reaches the target. For accuracy this is exact: a sample can only be right at or after its earliest correct exit e,
so any decisions with k right samples spend at least the sum of the k smallest e plus 1 for each other sample, which
is what the greedy choice spends. For F1 and MCC (not sums over samples) it is the same greedy reference, not a
proven bound."""

from __future__ import annotations

import numpy as np

from ..exits import layer_predictions
from ..metrics import task_metrics
from .sweeps import gather_predictions
from .base import ExitPolicy, ThresholdPolicy
from .simulation import run_steps


class OraclePolicy(ThresholdPolicy):
    id = "oracle"
    sample_inputs = ("labels",)
    closes_exits = False  # the limit every method is read against may use every exit

    def layer_score(self, state, layer, logits_l):
        return (layer_predictions(logits_l) == state.labels).astype(np.float64)

    def layer_threshold(self, layer):
        return 1.0

    def sweep(self, logits, values, **inputs):
        # One decision whatever the value. Driving `step` over the samples still in flight reads each layer only for
        # the samples without a correct exit yet; most find one within the first layers, so this beats computing
        # every layer's argmax for the generic score matrix.
        exits = run_steps(self, logits, self.start(logits.shape[0], **inputs))
        return np.repeat(exits[None], len(values), axis=0)

    def curve_values(self, logits, n_points, **inputs):
        return ExitPolicy.curve_values(self, logits, n_points, **inputs)  # knob-free: one curve point


def least_depth_within_tolerance(logits: np.ndarray, labels: np.ndarray, metric: str, tolerance: float) -> np.ndarray:
    """Exit layers [N] (1-based) of the least mean depth whose metric is >= the final exit's minus `tolerance`."""
    layer_preds = layer_predictions(logits)
    correct = layer_preds == labels[:, None]
    has_correct = correct.any(axis=1)
    earliest = np.where(has_correct, correct.argmax(axis=1) + 1, 1)
    cheapest_first = np.flatnonzero(has_correct)[np.argsort(earliest[has_correct], kind="stable")]
    target = task_metrics.primary(metric, labels, layer_preds[:, -1]) - tolerance - 1e-12

    def exits_buying(k: int) -> np.ndarray:
        exits = np.ones(len(labels), dtype=np.int64)
        exits[cheapest_first[:k]] = earliest[cheapest_first[:k]]
        return exits

    def reaches(k: int) -> bool:
        return task_metrics.primary(metric, labels, gather_predictions(layer_preds, exits_buying(k))) >= target

    low, high = 0, len(cheapest_first)  # buying every correct exit reaches the final exit's metric and more
    while low < high:  # the metric grows with each sample bought: the least k that reaches the target
        middle = (low + high) // 2
        low, high = (middle + 1, high) if not reaches(middle) else (low, middle)
    return exits_buying(high)
