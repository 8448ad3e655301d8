"""`patience` (PABEE, Zhou et al. 2020): a counter starts at 0 at exit 1, grows by one when the prediction
agrees with the previous exit's (ŷ_i = ŷ_{i-1}) and resets to 0 otherwise; exit when the counter reaches
`patience` t, so the earliest exit is layer t + 1. Regression (C = 1): agreement is |ŷ_i − ŷ_{i−1}| < eps."""

from __future__ import annotations

import numpy as np

from ..catalogue import integer, number
from ..exits import layer_predictions
from .base import State, ThresholdPolicy


class PatiencePolicy(ThresholdPolicy):
    id = "patience"
    knob = "patience"
    needs_probabilities = False

    params = {
        "patience": integer("consecutive agreeing exits before exiting; null = chosen by fit"),
        "eps": number("regression: outputs closer than eps agree", above=0),
    }

    def __init__(self, patience: int | None = None, eps: float = 0.1):
        self.patience = patience
        self.eps = eps

    def start(self, n, **inputs):
        return State(previous=np.zeros(n), counter=np.zeros(n, dtype=np.int64))

    def layer_score(self, state, layer, logits_l):
        prediction = layer_predictions(logits_l)
        if layer > 1:
            if logits_l.shape[1] == 1:
                agrees = np.abs(prediction - state.previous) < self.eps
            else:
                agrees = prediction == state.previous
            state.counter[:] = np.where(agrees, state.counter + 1, 0)
        state.previous[:] = prediction
        return state.counter.copy()

    def curve_values(self, logits, n_points, **inputs):
        return np.arange(1, max(logits.shape[1] - 1, 1) + 1)
