"""`static-k` (alias `static`): every sample exits at layer k — the papers' "DNN-kL" rows. Knob: `layer`
(fit picks the smallest layer within the tolerance)."""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from ..catalogue import integer
from .base import ThresholdPolicy


class StaticPolicy(ThresholdPolicy):
    id = "static-k"
    knob = "layer"
    needs_probabilities = False

    params = {"layer": integer("the exit every sample takes; null = chosen by fit")}

    def __init__(self, layer: int | None = None):
        self.layer = layer

    def check_logits(self, logits, source=None):
        logits = super().check_logits(logits, source)
        if self.layer is not None and self.layer > logits.shape[1]:
            raise ConfigError(f"policy 'static-k': layer={self.layer} but the model has {logits.shape[1]} exits")
        return logits

    def layer_score(self, state, layer, logits_l):
        return np.full(logits_l.shape[0], layer, dtype=np.int64)

    def curve_values(self, logits, n_points, **inputs):
        return np.arange(1, logits.shape[1] + 1)
