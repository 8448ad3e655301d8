"""`oracle`: exit at the earliest exit whose prediction is correct, at the final exit when none is. It reads the
labels, so it is the limit every table shows for reference (best accuracy at the least depth), not a method one
can deploy. Classification only: for regression outputs "correct" is undefined."""

from __future__ import annotations

import numpy as np

from ..exits import layer_predictions
from .base import ExitPolicy, ThresholdPolicy
from .simulation import run_steps


class OraclePolicy(ThresholdPolicy):
    id = "oracle"
    sample_inputs = ("labels",)
    closes_exits = False  # the limit every method is read against may use every exit

    def layer_score(self, state, layer, logits_l):
        return (layer_predictions(logits_l) == state.labels).astype(np.float64)

    def layer_threshold(self, layer):
        return 1.0

    def sweep(self, logits, values, **inputs):
        # One decision whatever the value. Driving `step` over the samples still in flight reads each layer only for
        # the samples without a correct exit yet; most find one within the first layers, so this beats computing
        # every layer's argmax for the generic score matrix.
        exits = run_steps(self, logits, self.start(logits.shape[0], **inputs))
        return np.repeat(exits[None], len(values), axis=0)

    def curve_values(self, logits, n_points, **inputs):
        return ExitPolicy.curve_values(self, logits, n_points, **inputs)  # knob-free: one curve point
