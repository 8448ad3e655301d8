"""Entropy rules.

- `entropy` (DeeBERT, Xin et al. 2020): exit at the first exit whose softmax entropy H(p_i) < threshold S,
  natural log, so S lies in [0, ln C].
- `norm-entropy` (FastBERT, Liu et al. 2020): exit when the normalised entropy H(p_i) / ln C < threshold s,
  s in [0, 1].
"""

from __future__ import annotations

import math

from ..catalogue import number
from ..exits import softmax_entropy
from .base import ThresholdPolicy


class EntropyPolicy(ThresholdPolicy):
    id = "entropy"
    knob = "threshold"
    exit_when = "<"

    params = {"threshold": number("exit when the entropy is below it; null = chosen by fit", minimum=0)}

    def __init__(self, threshold: float | None = None):
        self.threshold = threshold

    def layer_score(self, state, layer, logits_l):
        return softmax_entropy(logits_l)


class NormEntropyPolicy(EntropyPolicy):
    id = "norm-entropy"

    def layer_score(self, state, layer, logits_l):
        return softmax_entropy(logits_l) / math.log(logits_l.shape[1])
