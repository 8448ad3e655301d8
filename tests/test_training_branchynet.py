"""BranchyNet's two-phase training (kunglab/branchynet `utils.train`: `main=True`, then the branchy pass): phases,
losses and which parameters each phase moves, worked by hand."""

from __future__ import annotations

import math

import pytest
import torch
from safetensors.torch import load_file

from eebench.models import build_model
from eebench.models.multi_exit import MultiExitOutput
from eebench.models.runtime import seed_everything
from eebench.tasks import load_split, prepare_task
from eebench.training import train_run
from eebench.training.strategies import Phase, make_strategy

pytestmark = pytest.mark.usefixtures("one_thread")


def test_phases_train_the_trunk_first_then_everything():
    assert make_strategy("branchynet").phases(3) == [Phase("trunk+final", "final", 3), Phase("joint", "all", 3)]
    assert make_strategy("branchynet", {"trunk_epochs": 0.5}).phases(3)[0].epochs == 0.5


def test_losses_by_hand():
    # One sample of class 0. Exit 1 logits (0, 0): p = 1/2, CE = ln 2. Exit 2 logits (ln 3, 0): p = 3/4, CE = ln 4/3.
    logits = torch.tensor([[[0.0, 0.0], [math.log(3.0), 0.0]]], requires_grad=True)
    labels = torch.tensor([0])
    strategy = make_strategy("branchynet")
    trunk = strategy.loss(0, 0, MultiExitOutput(logits), labels)
    assert float(trunk.total.detach()) == pytest.approx(math.log(4 / 3))
    assert trunk.per_exit[0] is None and trunk.per_exit[1] == pytest.approx(math.log(4 / 3))
    joint = strategy.loss(1, 0, MultiExitOutput(logits), labels)
    assert float(joint.total.detach()) == pytest.approx(math.log(2) + math.log(4 / 3))  # equal weights 1, summed
    assert joint.per_exit == pytest.approx([math.log(2), math.log(4 / 3)])
    # d CE / d logits = p - onehot: phase 1 reaches exit 2 only; phase 2 gives each exit its own, unscaled
    trunk.total.backward()
    torch.testing.assert_close(logits.grad, torch.tensor([[[0.0, 0.0], [-0.25, 0.25]]]))
    logits.grad = None
    strategy.loss(1, 0, MultiExitOutput(logits), labels).total.backward()
    torch.testing.assert_close(logits.grad, torch.tensor([[[-0.5, 0.5], [-0.25, 0.25]]]))


def test_phase_one_reaches_the_trunk_and_final_exit_only_and_phase_two_every_parameter(tmp_path):
    data = tmp_path / "digits"
    prepare_task("digits", {}, data, 0)
    train = load_split(data, "train")
    strategy = make_strategy("branchynet")
    seed_everything(0)
    bundle = build_model("b-lenet", {}, 10, "image", train.inputs)
    model = bundle.model
    batch, labels = bundle.encoder.encode(train.inputs[:8]).batch(range(8)), torch.as_tensor(train.labels[:8])
    strategy.loss(0, 0, model(batch), labels).total.backward()
    reached = {name for name, p in model.named_parameters() if p.grad is not None and bool(p.grad.abs().sum() > 0)}
    assert reached == {name for name, _ in model.named_parameters()
                       if name.startswith(("adapter.conv1.", "adapter.trunk.", "exits.1."))}
    model.zero_grad(set_to_none=True)
    strategy.loss(1, 0, model(batch), labels).total.backward()
    assert all(p.grad is not None and bool(p.grad.abs().sum() > 0) for p in model.parameters())
    # the whole recipe through the training loop (one step per phase) from the same initialisation moves them all
    initial = {name: p.detach().clone() for name, p in model.named_parameters()}
    training = {"max_steps": 1, "batch_size": 8, "lr": 1e-3, "warmup_ratio": 0.0, "weight_decay": 0.0}
    train_run(data, tmp_path / "model", "b-lenet", {}, "branchynet", {}, training, 0)
    trained = load_file(str(tmp_path / "model" / "model.safetensors"))
    assert trained.keys() == initial.keys()
    assert all(not torch.equal(trained[name], initial[name]) for name in initial)
