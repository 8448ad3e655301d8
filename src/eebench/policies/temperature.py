"""Per-exit temperature scaling (Guo et al. 2017), fitted on val by minimising the negative log-likelihood over
a log-spaced grid of temperatures, then refined on a finer grid around the best one. NumPy only."""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError

COARSE = np.geomspace(0.05, 20.0, 60)


def _nll(logits_l: np.ndarray, labels: np.ndarray, temperatures: np.ndarray) -> np.ndarray:
    """Mean NLL of softmax(z / T) for each T: [K] (one temperature at a time keeps memory at [N, C])."""
    z = logits_l.astype(np.float64)
    z = z - z.max(axis=1, keepdims=True)
    true_logit = z[np.arange(z.shape[0]), labels]
    return np.array([(np.log(np.exp(z / t).sum(axis=1)) - true_logit / t).mean() for t in temperatures])


def fit_temperature(logits_l: np.ndarray, labels: np.ndarray) -> float:
    labels = labels.astype(np.int64)
    best = COARSE[np.argmin(_nll(logits_l, labels, COARSE))]
    fine = best * np.geomspace(0.85, 1.0 / 0.85, 41)
    return float(fine[np.argmin(_nll(logits_l, labels, fine))])


def fit_temperatures(logits: np.ndarray, labels: np.ndarray) -> list[float]:
    """One temperature per exit, from val logits [N, L, C] and integer labels [N]."""
    return [fit_temperature(logits[:, l], labels) for l in range(logits.shape[1])]


class TemperatureScaled:
    """Mixin: `scaled(layer, logits_l)` divides an exit's logits by its fitted temperature when the policy's
    `temperature_scaling` parameter is on."""

    temperature_scaling: bool

    def fit_temperatures_if_asked(self, logits, labels) -> None:
        if self.temperature_scaling:
            self.temperatures_ = fit_temperatures(logits, labels)

    def scaled(self, layer: int, logits_l: np.ndarray) -> np.ndarray:
        if not self.temperature_scaling:
            return logits_l
        temperatures = getattr(self, "temperatures_", None)
        if temperatures is None:
            raise ConfigError(f"policy '{self.id}': temperature_scaling=True needs fit(...) on val first to fit the temperatures")
        return logits_l.astype(np.float64) / temperatures[layer - 1]
