"""`maxprob`: exit at the first exit whose max softmax probability C_i >= threshold (Kaya et al.'s SDN / the
survey's "confidence"). Optional per-exit temperature scaling fitted on val (`temperature_scaling=True`)."""

from __future__ import annotations

from .base import ThresholdPolicy, check_probability, max_probability
from .temperature import TemperatureScaled


class MaxProbPolicy(TemperatureScaled, ThresholdPolicy):
    id = "maxprob"
    knob = "threshold"

    def __init__(self, threshold: float | None = None, temperature_scaling: bool = False):
        self.threshold = check_probability(self.id, "threshold", threshold)
        self.temperature_scaling = bool(temperature_scaling)

    def fit_model(self, logits, labels, costs, inputs):
        self.fit_temperatures_if_asked(logits, labels)

    def layer_score(self, state, layer, logits_l):
        return max_probability(self.scaled(layer, logits_l))
