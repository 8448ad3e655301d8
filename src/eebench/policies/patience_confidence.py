"""`patience-confidence` (PCEE-BERT, Zhu et al. 2022 — not the PCEE paper of `pcee`): a counter of consecutive
confident exits, +1 when exit i is confident and reset to 0 otherwise; exit when it reaches `patience` t, so the
earliest exit is layer t.

"Confident" (``confidence``): ``"norm-entropy"`` (default, the authors' code, michael-wzhu/PCEE-BERT
``pabee/modeling_pabee_bert.py``: ``normal_shannon_entropy`` = H(p_i) / ln C < τ) or ``"maxprob"`` (C_i >= τ,
eebench's earlier reading; the two differ for 3+ classes). Equivalently the worst measure of the last t exits
passes τ — max(u_{i-t+1}, …, u_i) < τ for normalised entropy u, min(C_{i-t+1}, …, C_i) >= τ for max-prob —
which is what `step` computes from a window of the last t values; curves sweep τ at the fitted t, and fit
searches both knobs: the measures are computed once, each patience's window extremes from them, and each
patience's thresholds are compared in one pass of `threshold_outcomes`."""

from __future__ import annotations

import numpy as np

from ..metrics import task_metrics
from ..catalogue import choice, integer, number
from ..exits import layer_predictions, max_probability, normalised_entropy
from .base import FIT_GRID_POINTS, State, ThresholdPolicy
from .sweeps import pick_within_tolerance, score_grid, threshold_outcomes

CONFIDENCE_MEASURES = {"norm-entropy": (normalised_entropy, "<"), "maxprob": (max_probability, ">=")}


def window_worst(values: np.ndarray, patience: int, exit_when: str = ">=") -> np.ndarray:
    """The worst of the last `patience` values at every exit of values [N, L]: the minimum when exits need
    `>= τ`, the maximum when they need `< τ`; before exit t (a window not yet full, as `step`'s window starts
    filled with the never-exiting value) -inf or +inf."""
    combine, never = (np.minimum, -np.inf) if exit_when == ">=" else (np.maximum, np.inf)
    worst = values.copy()
    for shift in range(1, patience):
        combine(worst[:, shift:], values[:, :-shift], out=worst[:, shift:])
    worst[:, : patience - 1] = never
    return worst


class PatienceConfidencePolicy(ThresholdPolicy):
    id = "patience-confidence"
    knob = "threshold"

    params = {
        "patience": integer("exits whose confidences must all pass the threshold; null = chosen by fit"),
        "threshold": number("confidence threshold; null = chosen by fit", minimum=0, maximum=1),
        "confidence": choice("what makes an exit confident: normalised entropy below the threshold (the authors') "
                             "or max probability at or above it", CONFIDENCE_MEASURES, default="norm-entropy"),
    }

    def __init__(self, patience: int | None = None, threshold: float | None = None, confidence="norm-entropy"):
        self.patience = patience
        self.threshold = threshold
        self.confidence = confidence

    @property
    def exit_when(self) -> str:
        return CONFIDENCE_MEASURES[self.confidence][1]

    def measure(self, logits: np.ndarray) -> np.ndarray:
        return CONFIDENCE_MEASURES[self.confidence][0](logits)

    def start(self, n, **inputs):
        never = -np.inf if self.exit_when == ">=" else np.inf
        return State(recent=np.full((n, self.knob_value("patience")), never))

    def layer_score(self, state, layer, logits_l):
        state.recent[:, :-1] = state.recent[:, 1:]
        state.recent[:, -1] = self.measure(logits_l)
        return state.recent.min(axis=1) if self.exit_when == ">=" else state.recent.max(axis=1)

    def rule_scores(self, logits, **inputs):
        return window_worst(self.measure(logits), self.knob_value("patience"), self.exit_when)

    def fit_knobs(self, logits, labels, costs, metric, tolerance, inputs):
        patiences = [self.patience] if self.patience is not None else range(1, max(logits.shape[1] - 1, 1) + 1)
        layer_preds = layer_predictions(logits)
        measures = self.measure(logits)
        candidates, scores, speedups = [], [], []  # (patience, threshold) pairs, swept per patience
        for patience in patiences:
            window_scores = self.with_closed_exits(window_worst(measures, patience, self.exit_when))
            thresholds = ([self.threshold] if self.threshold is not None
                          else score_grid(window_scores, FIT_GRID_POINTS, self.exit_when))
            candidates += [(patience, float(t)) for t in thresholds]
            outcome = threshold_outcomes(window_scores, thresholds, layer_preds, labels, costs, metric, self.exit_when)
            scores.append(outcome[0])
            speedups.append(outcome[1])
        final_score = task_metrics.primary(metric, labels, layer_preds[:, -1])
        best = pick_within_tolerance(np.concatenate(scores), np.concatenate(speedups), final_score, tolerance)
        self.patience_, self.threshold_ = candidates[best]
