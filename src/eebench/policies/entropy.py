"""Entropy rules.

- `entropy` (DeeBERT, Xin et al. 2020): exit at the first exit whose softmax entropy H(p_i) < threshold S,
  natural log, so S lies in [0, ln C].
- `norm-entropy` (FastBERT, Liu et al. 2020): exit when the normalised entropy H(p_i) / ln C < threshold s,
  s in [0, 1].
"""

from __future__ import annotations

from .base import ThresholdPolicy, check_non_negative, normalised_entropy, softmax_entropy


class EntropyPolicy(ThresholdPolicy):
    id = "entropy"
    knob = "threshold"
    exit_when = "<"

    def __init__(self, threshold: float | None = None):
        self.threshold = check_non_negative(self.id, "threshold", threshold)

    def layer_score(self, state, layer, logits_l):
        return softmax_entropy(logits_l)


class NormEntropyPolicy(EntropyPolicy):
    id = "norm-entropy"

    def layer_score(self, state, layer, logits_l):
        return normalised_entropy(logits_l)
