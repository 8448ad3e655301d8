"""`patience-confidence` (PCEE-BERT, Zhu et al. 2022 — not the PCEE paper of `pcee`): a counter of consecutive
confident exits, +1 when C_i >= threshold τ and reset to 0 otherwise; exit when it reaches `patience` t, so the
earliest exit is layer t. Equivalently the score min(C_{i-t+1}, …, C_i) >= τ, which is what `step` computes
from a window of the last t confidences; curves sweep τ at the fitted t, and fit searches both knobs."""

from __future__ import annotations

import numpy as np

from .base import State, ThresholdPolicy, best_within_tolerance, all_layer_predictions, max_probability
from .maxprob import check_probability
from .patience import check_positive_int


class PatienceConfidencePolicy(ThresholdPolicy):
    id = "patience-confidence"
    knob = "threshold"

    def __init__(self, patience: int | None = None, threshold: float | None = None):
        self.patience = check_positive_int(self.id, "patience", patience)
        self.threshold = check_probability(self.id, "threshold", threshold)

    def start(self, n, **inputs):
        return State(recent=np.full((n, self.knob_value("patience")), -np.inf))

    def layer_score(self, state, layer, logits_l):
        state.recent[:, :-1] = state.recent[:, 1:]
        state.recent[:, -1] = max_probability(logits_l)
        return state.recent.min(axis=1)

    def fit_knobs(self, logits, labels, costs, metric, tolerance, inputs):
        patiences = [self.patience] if self.patience is not None else range(1, max(logits.shape[1] - 1, 1) + 1)
        candidates = []  # (patience, threshold) pairs, swept per patience
        exits = []
        for patience in patiences:
            self.patience_ = patience
            thresholds = [self.threshold] if self.threshold is not None else self.fit_candidates(logits, inputs)
            candidates += [(patience, float(t)) for t in thresholds]
            exits.append(self.sweep(logits, thresholds))
        best = best_within_tolerance(
            np.concatenate(exits), all_layer_predictions(logits), labels, costs, metric, tolerance
        )
        self.patience_, self.threshold_ = candidates[best]
