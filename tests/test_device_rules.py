"""The torch rules' verdicts by hand: `decide` (a batch, on the device) and `decide_one` (one sample, read on the
host) give the same codes — leave, stay, or "in the tie band, NumPy decides"."""

from __future__ import annotations

import math

import pytest
import torch

from eebench.inference.device_rules import TIE_BAND, device_rule
from eebench.policies import make_policy


def two_class_logits(probability: float) -> torch.Tensor:
    """Logits [0, z] whose softmax gives class 1 the probability `probability` (z = log(p / (1 - p)))."""
    return torch.tensor([[0.0, math.log(probability / (1 - probability))]])


@pytest.mark.parametrize("probability, code", [(0.9, 2), (0.7, 0), (0.8, 1), (0.8 + TIE_BAND / 2, 1),
                                               (0.8 + 10 * TIE_BAND, 2), (0.8 - 10 * TIE_BAND, 0)])
def test_maxprob_codes_at_threshold_point_eight(probability, code):
    """maxprob exits when max softmax >= 0.8: 0.9 leaves (2), 0.7 stays (0), scores within 1e-5 of 0.8 go to NumPy."""
    rule = device_rule(make_policy("maxprob", threshold=0.8), n_exits=4)
    logits = two_class_logits(probability)
    assert rule.decide({}, 1, 1, logits, None).item() == code
    assert rule.decide_one({}, 1, logits, None) == code


@pytest.mark.parametrize("probability, code", [(0.99, 0), (0.6, 2), (0.5, 2)])
def test_entropy_codes_leave_below_the_threshold(probability, code):
    """DeeBERT exits when the entropy is below the threshold: with threshold 0.3 nats, p = 0.99 (entropy 0.056)
    leaves (code 0 = below the band), p = 0.6 (0.673) and p = 0.5 (ln 2 = 0.693) stay (2 = above)."""
    rule = device_rule(make_policy("entropy", threshold=0.3), n_exits=4)
    assert rule.leave_code == 0
    logits = two_class_logits(probability)
    assert rule.decide({}, 1, 1, logits, None).item() == code
    assert rule.decide_one({}, 1, logits, None) == code
