"""Entropy rules.

- `entropy` (DeeBERT, Xin et al. 2020): exit at the first exit whose softmax entropy H(p_i) < threshold S,
  natural log, so S lies in [0, ln C].
- `norm-entropy` (FastBERT, Liu et al. 2020): exit when the normalised entropy H(p_i) / ln C < threshold s,
  s in [0, 1].
"""

from __future__ import annotations

import math

from ..errors import ConfigError
from .base import ThresholdPolicy, softmax_entropy


def check_non_negative(policy_id: str, name: str, value):
    if value is not None and not (isinstance(value, int | float) and value >= 0):
        raise ConfigError(f"policy '{policy_id}': '{name}' must be a number >= 0, got {value!r}")
    return None if value is None else float(value)


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
        return softmax_entropy(logits_l) / math.log(logits_l.shape[1])
