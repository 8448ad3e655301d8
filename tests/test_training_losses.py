"""Hand-worked losses of the strategies that follow an author's definition: BERxiT's alternating LTE loss,
DynExit's learned loss weights and LeeBERT's learned distillation weights."""

from __future__ import annotations

import math

import pytest
import torch

from eebench.errors import ConfigError
from eebench.models.multi_exit import MultiExitOutput
from eebench.training.strategies import make_strategy


def two_exit_output():
    # One sample, label 1. Exit 1: logits (ln 3, 0) -> p = (3/4, 1/4), wrong, CE = ln 4. Exit 2: (0, ln 3) ->
    # p = (1/4, 3/4), right, CE = ln 4/3. LTE scores 0.2 and 0.6 against targets 0 and 1.
    logits = torch.tensor([[[math.log(3), 0.0], [0.0, math.log(3)]]])
    return MultiExitOutput(logits=logits, lte_scores=torch.tensor([[0.2, 0.6]])), torch.tensor([1])


def test_alternating_adds_the_lte_loss_on_every_step():
    out, labels = two_exit_output()
    strategy = make_strategy("alternating")
    lte = ((0.2 - 0) ** 2 + (0.6 - 1) ** 2) / 2  # MSE = 0.1
    even, odd = strategy.loss(0, 0, out, labels), strategy.loss(0, 1, out, labels)
    assert float(even.total) == pytest.approx(math.log(4 / 3) + lte, rel=1e-6)  # final loss + LTE
    assert float(odd.total) == pytest.approx(math.log(4) + lte, rel=1e-6)  # intermediate losses + LTE
    assert even.per_exit == [None, pytest.approx(math.log(4 / 3), rel=1e-6)]
    assert odd.info["lte_loss"] == pytest.approx(lte, rel=1e-6)


def test_alternating_regression_target_is_one_minus_tanh_of_the_error():
    # Outputs 0.5 and 1.0 for y = 2: |ŷ − y| = 1.5 and 1.0; the authors' "continue" target tanh|ŷ − y|, so the
    # "exit" score eebench trains is 1 − tanh(1.5) and 1 − tanh(1).
    out = MultiExitOutput(logits=torch.tensor([[[0.5], [1.0]]]), lte_scores=torch.tensor([[0.1, 0.2]]))
    lte = ((0.1 - (1 - math.tanh(1.5))) ** 2 + (0.2 - (1 - math.tanh(1.0))) ** 2) / 2
    loss = make_strategy("alternating").loss(0, 0, out, torch.tensor([2.0]))
    assert loss.info["lte_loss"] == pytest.approx(lte, rel=1e-5)
    assert float(loss.total) == pytest.approx((1.0 - 2.0) ** 2 + lte, rel=1e-5)


def test_alternating_shares_one_lte_head_by_default():
    assert make_strategy("alternating").uses_lte == "shared"
    assert make_strategy("alternating", {"lte_heads": "per-exit"}).uses_lte == "per-exit"
    assert make_strategy("joint").uses_lte is False
    with pytest.raises(ConfigError, match="option 'lte_heads': got 'all', expected one of 'shared', 'per-exit'"):
        make_strategy("alternating", {"lte_heads": "all"})


def test_dynexit_learns_sigmoid_weights_of_the_joint_loss():
    # Regression exits 1.0 and 2.0 for y = 0: losses L = (1, 4). θ = 0: w = (1/2, 1/2), total = Σ w L / Σ w = 2.5.
    out = MultiExitOutput(logits=torch.tensor([[[1.0], [2.0]]]))
    strategy = make_strategy("dynexit", {"weight_lr": 0.01})
    first = strategy.loss(0, 0, out, torch.tensor([0.0]))
    assert float(first.total) == pytest.approx(2.5)
    assert first.info["loss_weights"].tolist() == [0.5, 0.5]  # a tensor: the trainer reads it when it logs
    # ∂total/∂θ_j = w_j (1 − w_j)(L_j − 2.5) / Σ w = (−0.375, +0.375); Adam's first step moves each θ by lr
    # against the sign: θ = (+0.01, −0.01), so the lower-loss exit gains weight.
    assert strategy.theta.tolist() == pytest.approx([0.01, -0.01], abs=1e-6)
    w1, w2 = 1 / (1 + math.exp(-0.01)), 1 / (1 + math.exp(0.01))
    second = strategy.loss(0, 1, out, torch.tensor([0.0]))
    assert float(second.total) == pytest.approx((w1 * 1 + w2 * 4) / (w1 + w2), rel=1e-6)
    # Resuming restores θ (and Adam's moments) from the checkpoint's JSON state.
    resumed = make_strategy("dynexit", {"weight_lr": 0.01})
    resumed.load_state_dict(strategy.state_dict())
    assert float(resumed.loss(0, 2, out, torch.tensor([0.0])).total) == pytest.approx(
        float(strategy.loss(0, 2, out, torch.tensor([0.0])).total), rel=1e-7)


class TwoHeads(torch.nn.Module):
    """Linear exit heads on a fixed feature h = (1, 0): exit 1 gives logits (0, 0), exit 2 (0, ln 3)."""

    def __init__(self):
        super().__init__()
        self.exits = torch.nn.ModuleList(torch.nn.Linear(2, 2) for _ in range(2))
        with torch.no_grad():
            for head, second in zip(self.exits, (0.0, math.log(3))):
                head.weight.zero_()
                head.bias.copy_(torch.tensor([0.0, second]))

    def forward(self):
        h = torch.tensor([[1.0, 0.0]])
        return MultiExitOutput(logits=torch.stack([head(h) for head in self.exits], dim=1))


def test_leebert_loss_and_cross_level_weight_step():
    model, labels = TwoHeads(), torch.tensor([1])
    strategy = make_strategy("leebert", {"weight_lr": 1.0})
    strategy.bind(model)
    # p_1 = (1/2, 1/2), p_L = (1/4, 3/4): CE_1 = ln 2, CE_2 = ln 4/3,
    # KD_1 = KL(p_L ‖ p_1) = 1/4 ln(1/2) + 3/4 ln(3/2); α_1 = sigmoid(0) = 1/2.
    kd = 0.25 * math.log(0.5) + 0.75 * math.log(1.5)
    first = strategy.loss(0, 0, model(), labels)
    assert float(first.total.detach()) == pytest.approx(math.log(2) + math.log(4 / 3) + 0.5 * kd, rel=1e-6)
    assert first.info["distillation_weights"].tolist() == [0.5]
    # The next batch (the same sample here) is the held-out one. At exit 1's logits z: ∂KD/∂z = p_1 − p_L =
    # (1/4, −1/4), ∂CE/∂z = p_1 − onehot(1) = (1/2, −1/2); with h = (1, 0) the head's gradients are these in
    # W's first column and in the bias, so ⟨∇CE, ∇KD⟩ = 2·(1/8 + 1/8) = 1/2 > 0 (they agree): φ_1 grows by
    # lr · 1/2 · α(1 − α) = 1/8.
    strategy.loss(0, 1, model(), labels)
    assert strategy.phi.tolist() == pytest.approx([0.125], abs=1e-6)
