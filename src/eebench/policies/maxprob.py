"""`maxprob`: exit at the first exit whose max softmax probability C_i >= threshold (Kaya et al.'s SDN / the
survey's "confidence"). Optional per-exit temperature scaling fitted on val (`temperature_scaling=True`)."""

from __future__ import annotations

from ..errors import ConfigError
from .base import ThresholdPolicy, max_probability
from .temperature import TemperatureScaled


def check_probability(policy_id: str, name: str, value, low: float = 0.0, high: float = 1.0):
    if value is not None and not (isinstance(value, int | float) and low <= value <= high):
        raise ConfigError(f"policy '{policy_id}': '{name}' must be a number in [{low}, {high}], got {value!r}")
    return None if value is None else float(value)


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
