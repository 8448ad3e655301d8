"""Exit decisions in torch on the model's device, for real early-exit inference.

Each rule mirrors one NumPy policy's `step` operation for operation (float64 scores from the float32 logits, first
index on argmax ties, the same comparisons), so real inference needs one small read from the device per layer
instead of a NumPy round trip. Floating-point scores (softmax probability, entropy) may still differ from NumPy's
in the last bits (another exp, another summation order): a sample whose score lies within `TIE_BAND` of the
threshold is flagged as uncertain and decided by the NumPy policy itself, so decisions are those of simulation.

A rule also says at which layers the policy can exit (`can_exit`) and whether its decision reads the exit logits
(`reads_logits`): the driver computes an exit head only where a decision or a leaving sample needs it. Policies
without a rule here run through their NumPy `step` (`device_rule` returns None)."""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

TIE_BAND = 1e-9  # |score - threshold| below this is decided by NumPy (float64 disagreements are ~1e-15)

Tensors = dict[str, torch.Tensor]


class DeviceRule:
    """Base: exits anywhere, reads the logits, keeps no state."""

    reads_logits = True
    keeps_state = False  # True: `decide` must see every layer, also where the policy cannot exit

    def __init__(self, policy, n_exits: int):
        self.policy, self.n_exits = policy, n_exits

    def can_exit(self, layer: int) -> bool:
        return layer < self.n_exits

    def start(self, n: int, labels: torch.Tensor | None, device: torch.device) -> Tensors:
        return {}

    def decide(self, state: Tensors, layer: int, n: int, logits: torch.Tensor | None, lte: torch.Tensor | None):
        """(leaving [n] bool, uncertain [n] bool or None) for the n live samples at `layer`; `logits` is None
        unless `reads_logits`, `lte` None unless the policy reads learning-to-exit scores."""
        raise NotImplementedError


def take(state: Tensors, keep: torch.Tensor) -> Tensors:
    return {name: values[keep] for name, values in state.items()}


class _Final(DeviceRule):
    reads_logits = False

    def can_exit(self, layer):
        return False


class _Static(DeviceRule):
    reads_logits = False

    def can_exit(self, layer):
        return layer == self.policy.knob_value()

    def decide(self, state, layer, n, logits, lte):
        return torch.ones(n, dtype=torch.bool), None


class _Threshold(DeviceRule):
    """Exit when a float64 score crosses the policy's threshold (`exit_when` '>=' or '<')."""

    def score(self, layer: int, logits: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def decide(self, state, layer, n, logits, lte):
        score = self.score(layer, logits)
        threshold = self.policy.knob_value()
        leaving = score >= threshold if self.policy.exit_when == ">=" else score < threshold
        return leaving, (score - threshold).abs() <= TIE_BAND


def _as_float64(logits: torch.Tensor) -> torch.Tensor:
    return logits.to(torch.float64)


class _MaxProb(_Threshold):
    def score(self, layer, logits):
        z = _as_float64(logits)
        if self.policy.temperature_scaling:
            z = z / self.policy.temperatures_[layer - 1]
        return 1.0 / torch.exp(z - z.max(dim=-1, keepdim=True).values).sum(dim=-1)


class _Entropy(_Threshold):
    def score(self, layer, logits):
        z = _as_float64(logits)
        z = z - z.max(dim=1, keepdim=True).values
        log_norm = torch.log(torch.exp(z).sum(dim=1, keepdim=True))
        p = torch.exp(z - log_norm)
        return log_norm[:, 0] - (p * z).sum(dim=1)


class _NormEntropy(_Entropy):
    def score(self, layer, logits):
        return super().score(layer, logits) / float(np.log(logits.shape[1]))


def _predictions(logits: torch.Tensor) -> torch.Tensor:
    """`layer_predictions` in torch: argmax (first index on ties) or, for C = 1, the float64 output."""
    return _as_float64(logits[:, 0]) if logits.shape[1] == 1 else torch.argmax(logits, dim=1)


class _Patience(DeviceRule):
    keeps_state = True

    def can_exit(self, layer):
        return self.policy.knob_value() < layer < self.n_exits

    def start(self, n, labels, device):
        return {"previous": torch.zeros(n, dtype=torch.float64, device=device),
                "counter": torch.zeros(n, dtype=torch.int64, device=device)}

    def decide(self, state, layer, n, logits, lte):
        prediction = _predictions(logits).to(torch.float64)
        if layer > 1:
            if logits.shape[1] == 1:
                agrees = (prediction - state["previous"]).abs() < self.policy.eps
            else:
                agrees = prediction == state["previous"]
            state["counter"] = torch.where(agrees, state["counter"] + 1, 0)
        state["previous"] = prediction
        return state["counter"] >= self.policy.knob_value(), None


class _LearnToExit(DeviceRule):
    reads_logits = False

    def decide(self, state, layer, n, logits, lte):
        # The scores stay float32, compared with the threshold as NumPy compares a float32 array with a Python float.
        return lte >= self.policy.knob_value(), None


class _Oracle(DeviceRule):
    def start(self, n, labels, device):
        return {"labels": labels.to(device)}

    def decide(self, state, layer, n, logits, lte):
        return _predictions(logits) == state["labels"], None


RULES: dict[str, Callable] = {
    "final": _Final, "static-k": _Static, "maxprob": _MaxProb, "entropy": _Entropy,
    "norm-entropy": _NormEntropy, "patience": _Patience, "lte": _LearnToExit, "oracle": _Oracle,
}


def device_rule(policy, n_exits: int) -> DeviceRule | None:
    rule = RULES.get(policy.id)
    return None if rule is None else rule(policy, n_exits)
