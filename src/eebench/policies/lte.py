"""`lte` (BERxiT's learning-to-exit, Xin et al. 2021): a learned head at each exit predicts whether that exit's
prediction is correct; exit at the first exit whose score >= threshold. The scores come from the exits npz's
extra field `lte_scores` [N, L] (written by the model's predict stage) and are passed as `lte_scores=` to `fit`,
`simulate` and `start`; real inference may instead pass each layer's scores to `step` as `lte_scores_l`."""

from __future__ import annotations

from ..catalogue import number
from .base import ThresholdPolicy


class LearnToExitPolicy(ThresholdPolicy):
    id = "lte"
    knob = "threshold"
    needs_probabilities = False
    sample_inputs = ("lte_scores",)

    params = {"threshold": number("exit when the LTE head's score reaches it; null = chosen by fit")}

    def __init__(self, threshold: float | None = None):
        self.threshold = threshold

    def layer_score(self, state, layer, logits_l, lte_scores_l=None):
        return state.lte_scores[:, layer - 1] if lte_scores_l is None else lte_scores_l

    def step(self, state, layer, logits_l, lte_scores_l=None):
        return self.layer_score(state, layer, logits_l, lte_scores_l) >= self.knob_value()
