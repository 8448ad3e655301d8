"""`patience-confidence` (PCEE-BERT, Zhu et al. 2022 — not the PCEE paper of `pcee`): a counter of consecutive
confident exits, +1 when C_i >= threshold τ and reset to 0 otherwise; exit when it reaches `patience` t, so the
earliest exit is layer t. Equivalently the score min(C_{i-t+1}, …, C_i) >= τ, which is what `step` computes
from a window of the last t confidences; curves sweep τ at the fitted t, and fit searches both knobs: the
confidences are computed once, each patience's window minima from them, and each patience's thresholds are
compared in one pass of `threshold_outcomes`."""

from __future__ import annotations

import numpy as np

from ..metrics import task_metrics
from ..catalogue import integer, number
from ..exits import layer_predictions, max_probability
from .base import FIT_GRID_POINTS, State, ThresholdPolicy
from .sweeps import pick_within_tolerance, score_grid, threshold_outcomes


def window_minimum(confidences: np.ndarray, patience: int) -> np.ndarray:
    """min(C_{i-t+1}, …, C_i) for every exit i of confidences [N, L]; -inf before exit t (a window not yet full,
    as `step`'s window starts filled with -inf)."""
    minimum = confidences.copy()
    for shift in range(1, patience):
        np.minimum(minimum[:, shift:], confidences[:, :-shift], out=minimum[:, shift:])
    minimum[:, : patience - 1] = -np.inf
    return minimum


class PatienceConfidencePolicy(ThresholdPolicy):
    id = "patience-confidence"
    knob = "threshold"

    params = {
        "patience": integer("exits whose confidences must all reach the threshold; null = chosen by fit"),
        "threshold": number("confidence threshold; null = chosen by fit", minimum=0, maximum=1),
    }

    def __init__(self, patience: int | None = None, threshold: float | None = None):
        self.patience = patience
        self.threshold = threshold

    def start(self, n, **inputs):
        return State(recent=np.full((n, self.knob_value("patience")), -np.inf))

    def layer_score(self, state, layer, logits_l):
        state.recent[:, :-1] = state.recent[:, 1:]
        state.recent[:, -1] = max_probability(logits_l)
        return state.recent.min(axis=1)

    def score_matrix(self, logits, **inputs):
        return window_minimum(max_probability(logits), self.knob_value("patience"))

    def fit_knobs(self, logits, labels, costs, metric, tolerance, inputs):
        patiences = [self.patience] if self.patience is not None else range(1, max(logits.shape[1] - 1, 1) + 1)
        layer_preds = layer_predictions(logits)
        confidences = max_probability(logits)
        candidates, scores, speedups = [], [], []  # (patience, threshold) pairs, swept per patience
        for patience in patiences:
            window_scores = window_minimum(confidences, patience)
            thresholds = [self.threshold] if self.threshold is not None else score_grid(window_scores, FIT_GRID_POINTS)
            candidates += [(patience, float(t)) for t in thresholds]
            outcome = threshold_outcomes(window_scores, thresholds, layer_preds, labels, costs, metric)
            scores.append(outcome[0])
            speedups.append(outcome[1])
        final_score = task_metrics.primary(metric, labels, layer_preds[:, -1])
        best = pick_within_tolerance(np.concatenate(scores), np.concatenate(speedups), final_score, tolerance)
        self.patience_, self.threshold_ = candidates[best]
