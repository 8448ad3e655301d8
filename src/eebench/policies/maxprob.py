"""`maxprob`: exit at the first exit whose max softmax probability C_i >= threshold (Kaya et al.'s SDN / the
survey's "confidence"). Optional per-exit temperature scaling fitted on val (`temperature_scaling=True`)."""

from __future__ import annotations

from ..catalogue import boolean, number
from ..exits import max_probability
from .base import ThresholdPolicy
from .temperature import TemperatureScaled


class MaxProbPolicy(TemperatureScaled, ThresholdPolicy):
    id = "maxprob"
    knob = "threshold"

    params = {
        "threshold": number("exit when the max probability reaches it; null = chosen by fit", minimum=0, maximum=1),
        "temperature_scaling": boolean("divide each exit's logits by a temperature fitted on val"),
    }

    def __init__(self, threshold: float | None = None, temperature_scaling: bool = False):
        self.threshold = threshold
        self.temperature_scaling = temperature_scaling

    def fit_model(self, logits, labels, costs, inputs):
        self.fit_temperatures_if_asked(logits, labels)

    def layer_score(self, state, layer, logits_l):
        return max_probability(self.scaled(layer, logits_l))
