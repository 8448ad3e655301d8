"""Per-exit thresholds (DeeBERT's and BERxiT's list form): a threshold policy whose `threshold` may be one value
per exit, given as a list or fitted on val with `per_exit=True`."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from ..errors import ConfigError
from ..exits import layer_predictions
from ..metrics import task_metrics
from .base import FIT_GRID_POINTS, ThresholdPolicy
from .sweeps import knob_outcomes, pick_within_tolerance, score_grid


class PerExitThresholdPolicy(ThresholdPolicy):
    """A threshold policy that may use one threshold per exit (DeeBERT's and BERxiT's list form): `threshold`
    given as a list of L values is used as is; with `per_exit=True` and no threshold, fit chooses the shared
    threshold first and then each exit's by coordinate search on val (exits 1..L-1 in turn, two passes: each
    exit's value is the largest-speed-up one within the tolerance while the others stay fixed, starting from the
    shared one, so the result is never slower on val). The per-exit values are the fitted `thresholds_`; curves
    sweep one shared threshold."""

    per_exit_passes: ClassVar[int] = 2

    def uses_per_exit(self) -> bool:
        return isinstance(self.threshold, list) or self.per_exit

    def knob_value(self, name=None):
        if (name or self.knob) == "threshold" and isinstance(self.threshold, list):
            raise ConfigError(f"policy '{self.id}': 'threshold' is a per-exit list; it has no single value")
        return super().knob_value(name)

    def fit_knobs(self, logits, labels, costs, metric, tolerance, inputs):
        if isinstance(self.threshold, list):
            if len(self.threshold) != logits.shape[1]:
                raise ConfigError(f"policy '{self.id}': 'threshold' has {len(self.threshold)} values, the model "
                                  f"has {logits.shape[1]} exits")
            self.thresholds_ = list(self.threshold)
            return
        super().fit_knobs(logits, labels, costs, metric, tolerance, inputs)
        if self.per_exit:
            scores = self.score_matrix(logits, **inputs)
            self.thresholds_ = self.coordinate_search(scores, layer_predictions(logits), labels, costs, metric,
                                                      tolerance)

    def coordinate_search(self, scores, layer_preds, labels, costs, metric, tolerance) -> list[float]:
        n_exits = scores.shape[1]
        thresholds = np.full(n_exits, float(self.knob_value()))
        final_score = task_metrics.primary(metric, labels, layer_preds[:, -1])
        for _ in range(self.per_exit_passes):
            for i in range(n_exits - 1):
                candidates = np.append(score_grid(scores[:, [i]], FIT_GRID_POINTS // 4, self.exit_when), thresholds[i])
                exits = exits_varying_one(self.passes(scores, thresholds), scores[:, i], i, candidates,
                                          self.exit_when)
                metric_scores, speedups = knob_outcomes(exits, layer_preds, labels, costs, metric)
                thresholds[i] = candidates[pick_within_tolerance(metric_scores, speedups, final_score, tolerance)]
        return thresholds.tolist()

    def passes(self, scores, thresholds) -> np.ndarray:
        return scores >= thresholds if self.exit_when == ">=" else scores < thresholds

    def layer_threshold(self, layer):
        if self.uses_per_exit():
            return np.asarray(self.thresholds_)[layer - 1]
        return self.knob_value()

    def decide(self, logits, **inputs):
        if not self.uses_per_exit():
            return super().decide(logits, **inputs)
        hits = self.passes(self.score_matrix(logits, **inputs), np.asarray(self.thresholds_, dtype=np.float64))
        hits[:, -1] = True  # the final exit always exits
        return hits.argmax(axis=1) + 1


def exits_varying_one(hits, scores_i, i, candidates, exit_when) -> np.ndarray:
    """Exit layers [K, N] when exit i's (0-based) threshold takes each candidate value and every other exit keeps
    its hits [N, L]: a sample leaves before i if an earlier exit fires, at i if the candidate lets it, else at the
    first later exit that fires (the final exit always does)."""
    n, n_exits = hits.shape
    hits = hits.copy()
    hits[:, -1] = True
    before = np.where(hits[:, :i].any(axis=1), hits[:, :i].argmax(axis=1) + 1, 0) if i else np.zeros(n, np.int64)
    after = i + 2 + hits[:, i + 1:].argmax(axis=1)
    candidates = np.asarray(candidates, dtype=np.float64)[:, None]
    at_i = scores_i[None, :] >= candidates if exit_when == ">=" else scores_i[None, :] < candidates
    return np.where(before[None, :] > 0, before[None, :], np.where(at_i, i + 1, after[None, :]))

