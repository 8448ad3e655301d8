"""Entropy rules.

- `entropy` (DeeBERT, Xin et al. 2020): exit at the first exit whose softmax entropy H(p_i) < threshold S,
  natural log, so S lies in [0, ln C].
- `norm-entropy` (FastBERT, Liu et al. 2020): exit when the normalised entropy H(p_i) / ln C < threshold s,
  s in [0, 1].

Both take the per-exit list form (castorini/DeeBERT ``set_early_exit_entropy`` accepts one value or a list): a
list of L thresholds is used as is, and ``per_exit=True`` fits one per exit on val (`PerExitThresholdPolicy`).
"""

from __future__ import annotations

from ..catalogue import boolean, number
from ..exits import normalised_entropy, softmax_entropy
from .per_exit import PerExitThresholdPolicy


class EntropyPolicy(PerExitThresholdPolicy):
    id = "entropy"
    knob = "threshold"
    exit_when = "<"

    params = {
        "threshold": number("exit when the entropy is below it (one value, or one per exit); null = chosen by fit",
                            minimum=0, per_exit=True),
        "per_exit": boolean("fit one threshold per exit on val (coordinate search from the shared one)", default=False),
    }

    def __init__(self, threshold: float | list[float] | None = None, per_exit: bool = False):
        self.threshold = threshold
        self.per_exit = per_exit

    def layer_score(self, state, layer, logits_l):
        return softmax_entropy(logits_l)


class NormEntropyPolicy(EntropyPolicy):
    id = "norm-entropy"

    def layer_score(self, state, layer, logits_l):
        return normalised_entropy(logits_l)
