"""`lte` (BERxiT's learning-to-exit, Xin et al. 2021): a learned head (shared by the exits, or one per exit)
predicts whether an exit's prediction is correct; exit at the first exit whose score >= threshold. The scores
come from the exits npz's extra field `lte_scores` [N, L] (written by the model's predict stage) and are passed
as `lte_scores=` to `fit`, `simulate` and `start`; real inference may instead pass each layer's scores to `step`
as `lte_scores_l`. As in BERxiT's ``lte_th`` (one value or a list per layer), a list of L thresholds is used as
is and ``per_exit=True`` fits one per exit on val (`PerExitThresholdPolicy`)."""

from __future__ import annotations

from ..catalogue import boolean, number
from .per_exit import PerExitThresholdPolicy


class LearnToExitPolicy(PerExitThresholdPolicy):
    id = "lte"
    knob = "threshold"
    needs_probabilities = False
    sample_inputs = ("lte_scores",)

    params = {
        "threshold": number("exit when the LTE head's score reaches it (one value, or one per exit); null = chosen "
                            "by fit", per_exit=True),
        "per_exit": boolean("fit one threshold per exit on val (coordinate search from the shared one)", default=False),
    }

    def __init__(self, threshold: float | list[float] | None = None, per_exit: bool = False):
        self.threshold = threshold
        self.per_exit = per_exit

    def layer_score(self, state, layer, logits_l, lte_scores_l=None):
        return state.lte_scores[:, layer - 1] if lte_scores_l is None else lte_scores_l

    def step(self, state, layer, logits_l, lte_scores_l=None):
        return self.leaves(self.layer_score(state, layer, logits_l, lte_scores_l), layer)

