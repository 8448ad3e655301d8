"""Exit decisions in torch on the model's device, for real early-exit inference.

Each rule mirrors one NumPy policy's `step` (argmax with the first index on ties, the same comparisons, the same
state), so real inference needs one read of a small verdict tensor per layer instead of a NumPy round trip of the
logits. Scores that are floating point (softmax probability, entropy) are computed in float32 with few operations
(each torch operation costs microseconds on the CPU at batch size 1) and so differ from NumPy's float64 scores by
rounding: a sample whose score lies within `TIE_BAND` of the threshold is marked uncertain and decided by the NumPy
policy itself, so decisions are exactly those of simulation.

A rule also says at which layers the policy can exit (`can_exit`) and whether its decision reads the exit logits
(`reads_logits`): the driver computes an exit head only where a decision or a leaving sample needs it. Policies
without a rule here run through their NumPy `step` (`device_rule` returns None)."""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch

TIE_BAND = 1e-5  # float32 scores within this of the threshold are decided by NumPy (float32 rounding is ~1e-7)

Tensors = dict[str, torch.Tensor]


class DeviceRule:
    """Base: exits anywhere, reads the logits, keeps no state; `decide` gives a boolean verdict (True = leave)."""

    reads_logits = True
    keeps_state = False  # True: `decide` must see every layer, also where the policy cannot exit
    leave_code, unsure_code = True, None  # what the verdict holds for "leave" and for "let NumPy decide"

    def __init__(self, policy, n_exits: int):
        self.policy, self.n_exits = policy, n_exits

    def can_exit(self, layer: int) -> bool:
        return layer < self.n_exits

    def start(self, n: int, labels: torch.Tensor | None, device: torch.device) -> Tensors:
        return {}

    def decide(self, state: Tensors, layer: int, n: int, logits: torch.Tensor | None, lte: torch.Tensor | None):
        """The verdict [n] for the n live samples at `layer`, on the device; `logits` is None unless
        `reads_logits`, `lte` None unless the policy reads learning-to-exit scores."""
        raise NotImplementedError

    def decide_one(self, state: Tensors, layer: int, logits: torch.Tensor | None, lte: torch.Tensor | None):
        """`decide` for one live sample, read from the device: its verdict code as a Python scalar."""
        return self.decide(state, layer, 1, logits, lte).item()

    def read(self, verdict: torch.Tensor) -> tuple[np.ndarray, np.ndarray | None]:
        """The one read from the device per layer: (leaving [n] bool, uncertain [n] bool or None)."""
        codes = verdict.cpu().numpy()
        return codes == self.leave_code, None if self.unsure_code is None else codes == self.unsure_code


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
        return torch.ones(n, dtype=torch.bool)


class _Threshold(DeviceRule):
    """Exit when a float32 score crosses the policy's threshold (`exit_when` '>=' or '<'). One `bucketize` sorts the
    scores into below the tie band (0), in it (1, NumPy decides) and above it (2)."""

    unsure_code = 1

    def __init__(self, policy, n_exits):
        super().__init__(policy, n_exits)
        self.leave_code = 2 if policy.exit_when == ">=" else 0
        self.threshold = self.policy.knob_value()
        self.bounds: torch.Tensor | None = None  # the tie band's edges, on the scores' device

    def score(self, layer: int, logits: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def decide(self, state, layer, n, logits, lte):
        score = self.score(layer, logits)
        if self.bounds is None or self.bounds.device != score.device:
            self.bounds = torch.tensor([self.threshold - TIE_BAND, self.threshold + TIE_BAND], device=score.device)
        return torch.bucketize(score, self.bounds)

    def decide_one(self, state, layer, logits, lte):
        # the score read as a Python float and banded on the host: one torch operation fewer than `bucketize`,
        # which at batch size 1 costs as much as the comparison is worth
        score = self.score(layer, logits).item()
        if score <= self.threshold - TIE_BAND:
            return 0
        return 1 if score <= self.threshold + TIE_BAND else 2


class _MaxProb(_Threshold):
    def score(self, layer, logits):
        if self.policy.temperature_scaling:
            logits = logits / self.policy.temperatures_[layer - 1]
        return torch.softmax(logits.float(), dim=-1).amax(dim=-1)


class _Entropy(_Threshold):
    def score(self, layer, logits):
        return torch.special.entr(torch.softmax(logits.float(), dim=-1)).sum(dim=-1)


class _NormEntropy(_Entropy):
    def score(self, layer, logits):
        return super().score(layer, logits) / math.log(logits.shape[1])


def _predictions(logits: torch.Tensor) -> torch.Tensor:
    """`layer_predictions` in torch: argmax (first index on ties) or, for C = 1, the float64 output."""
    return logits[:, 0].to(torch.float64) if logits.shape[1] == 1 else torch.argmax(logits, dim=1)


class _Patience(DeviceRule):
    keeps_state = True

    def can_exit(self, layer):
        return self.policy.knob_value() < layer < self.n_exits

    def start(self, n, labels, device):
        return {"counter": torch.zeros(n, dtype=torch.int64, device=device)}

    def decide(self, state, layer, n, logits, lte):
        prediction = _predictions(logits)
        if layer > 1:
            if logits.shape[1] == 1:
                agrees = (prediction - state["previous"]).abs() < self.policy.eps
            else:
                agrees = prediction == state["previous"]
            state["counter"] = (state["counter"] + 1) * agrees
        state["previous"] = prediction
        return state["counter"] >= self.policy.knob_value()


class _LearnToExit(DeviceRule):
    reads_logits = False

    def decide(self, state, layer, n, logits, lte):
        # float32 scores against a Python float, as NumPy compares them (NEP 50: the float is cast to float32)
        return lte >= self.policy.knob_value()


class _Oracle(DeviceRule):
    def start(self, n, labels, device):
        return {"labels": labels.to(device)}

    def decide(self, state, layer, n, logits, lte):
        return _predictions(logits) == state["labels"]


RULES: dict[str, Callable] = {
    "final": _Final, "static-k": _Static, "maxprob": _MaxProb, "entropy": _Entropy,
    "norm-entropy": _NormEntropy, "patience": _Patience, "lte": _LearnToExit, "oracle": _Oracle,
}


def device_rule(policy, n_exits: int) -> DeviceRule | None:
    """The torch rule of `policy`, or None where its NumPy step decides (no rule, or per-exit thresholds)."""
    rule = RULES.get(policy.id)
    per_exit = getattr(policy, "uses_per_exit", lambda: False)()
    return None if rule is None or per_exit else rule(policy, n_exits)
