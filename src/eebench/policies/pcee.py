"""`pcee` and `pcee-ws` (PCEE, Mofakhami et al. 2024: performance control in early exiting).

On val, each exit i gets a reliability diagram: confidences C_i (max softmax probability, optionally after the
exit's temperature scaling) fall into `bins` equal-width bins on [0, 1] (bin b = floor(C·bins)), and a_i(b) is
the accuracy of the val samples in bin b. At inference a sample exits at the first exit whose bin accuracy
a_i(bin(C_i)) >= delta, the user's accuracy target. `pcee-ws` smooths the per-bin accuracies over neighbouring
bins, weighting each bin by its sample count: a_i(b) = Σ_{|j-b|<=window} correct_i(j) / Σ_{|j-b|<=window} n_i(j).
A bin with no val samples (no evidence) gets accuracy -1, so no sample exits there. The curve sweeps delta.
"""

from __future__ import annotations

import numpy as np

from ..metrics.calibration import bin_index
from ..catalogue import boolean, integer, number
from ..errors import ConfigError
from ..exits import layer_predictions, max_probability
from .base import ThresholdPolicy
from .temperature import TemperatureScaled

EMPTY_BIN_ACCURACY = -1.0


class PceePolicy(TemperatureScaled, ThresholdPolicy):
    id = "pcee"
    knob = "delta"
    smoothing_window = 0

    params = {
        "delta": number("accuracy target δ; null = chosen by fit", minimum=0, maximum=1),
        "bins": integer("confidence bins of the val accuracy table"),
        "temperature_scaling": boolean("divide each exit's logits by a temperature fitted on val"),
    }

    def __init__(self, delta: float | None = None, bins: int = 10, temperature_scaling: bool = False):
        self.delta = delta
        self.bins = bins
        self.temperature_scaling = temperature_scaling

    def fit_model(self, logits, labels, costs, inputs):
        self.fit_temperatures_if_asked(logits, labels)
        table = []
        for layer in range(1, logits.shape[1] + 1):
            logits_l = logits[:, layer - 1]
            bins = bin_index(max_probability(self.scaled(layer, logits_l)), self.bins)
            correct = (layer_predictions(logits_l) == labels).astype(np.float64)
            table.append(self._bin_accuracy(np.bincount(bins, minlength=self.bins).astype(np.float64),
                                            np.bincount(bins, weights=correct, minlength=self.bins)))
        self.bin_accuracy_ = np.array(table)

    def _bin_accuracy(self, counts, correct):
        window = self.smoothing_window
        if window:
            kernel = np.ones(2 * window + 1)
            counts = np.convolve(counts, kernel, mode="same")
            correct = np.convolve(correct, kernel, mode="same")
        accuracy = np.full(counts.shape, EMPTY_BIN_ACCURACY)
        np.divide(correct, counts, out=accuracy, where=counts > 0)
        return accuracy

    def layer_score(self, state, layer, logits_l):
        table = getattr(self, "bin_accuracy_", None)
        if table is None:
            raise ConfigError(f"policy '{self.id}': the reliability diagrams are fitted on val; call fit first")
        confidence = max_probability(self.scaled(layer, logits_l))
        return np.asarray(table)[layer - 1, bin_index(confidence, self.bins)]


class PceeSmoothedPolicy(PceePolicy):
    id = "pcee-ws"

    params = {**PceePolicy.params, "window": integer("neighbouring bins smoothed on each side", minimum=0)}

    def __init__(self, delta: float | None = None, bins: int = 10, window: int = 1, temperature_scaling=False):
        super().__init__(delta, bins, temperature_scaling)
        self.window = window

    @property
    def smoothing_window(self):
        return self.window
