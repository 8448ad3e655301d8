"""Real early-exit inference decides exactly as simulation does (bs 1 and batched with compaction); FLOPs per
exit are measured and cumulative; latency.json reports timings and the decision check."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from eebench.errors import ConfigError
from eebench.exits import load_exit_outputs
from eebench.inference import early_exit, early_exit_predict, measure_costs, measure_latency, predict_split
from eebench.inference.device_rules import RULES
from eebench.io import write_json
from eebench.models import load_model
from eebench.policies import make_policy, simulate
from eebench.tasks import prepare_task
from eebench.training import train_run

pytestmark = pytest.mark.usefixtures("one_thread")

TINY = {"n_layers": 3, "hidden_size": 32, "n_heads": 2, "intermediate_size": 64}
FAST = {"max_steps": 20, "batch_size": 8, "max_length": 24, "lr": 2e-3, "warmup_ratio": 0.0}


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    """(model dir, data dir) of small text models with LTE heads ([CLS] and mean pooling) and of an MLP on
    digits, with val/test exits."""
    root = tmp_path_factory.mktemp("runs")
    prepare_task("synth-sentiment", {"train_size": 96, "val_size": 48, "test_size": 40}, root / "sentiment", 0)
    prepare_task("digits", {}, root / "digits", 0)
    runs = {
        "bert": (root / "sentiment", "bert-small", TINY, "alternating", FAST),
        # exits read the mean over real tokens: padding (batch 7 vs 1) must not change a sample's output
        "bert-mean": (root / "sentiment", "bert-small", {**TINY, "pool": "mean"}, "alternating", FAST),
        "mlp": (root / "digits", "mlp", {}, "joint", {"epochs": 2, "batch_size": 64, "lr": 2e-3}),
    }
    out = {}
    for name, (data, backbone, options, strategy, training) in runs.items():
        train_run(data, root / name / "model", backbone, options, strategy, {}, training, 0)
        for split in ("val", "test"):
            # in fp32, as the tests below call the model (a bf16-trained model's exits default to bf16, and a
            # near-tie between two classes may then fall the other way)
            predict_split(root / name / "model", data, split, root / name / f"{split}.npz", precision="fp32")
        out[name] = (root / name, data)
    return out


def fitted(policy_id: str, run: Path, **params):
    val = load_exit_outputs(run / "val.npz")
    return make_policy(policy_id, **params).fit(val.logits, val.labels, **_inputs(policy_id, val))


def _inputs(policy_id, outputs):
    return {"lte_scores": outputs.extras["lte_scores"]} if policy_id == "lte" else {}


POLICIES = [("maxprob", {}), ("maxprob", {"temperature_scaling": True}), ("entropy", {"threshold": 0.6}),
            ("norm-entropy", {"threshold": 0.9}), ("patience", {"patience": 1}), ("lte", {}), ("static-k", {"layer": 2}),
            ("oracle", {}), ("final", {})]


@pytest.fixture(params=["device", "numpy"])
def decide_on(request, monkeypatch):
    """Decisions in torch on the device (the policies in `device_rules.RULES`) or through the NumPy `step`."""
    if request.param == "numpy":
        monkeypatch.setattr(early_exit, "device_rule", lambda policy, n_exits: None)
    return request.param


def test_every_policy_tested_here_has_a_device_rule():
    assert {policy_id for policy_id, _ in POLICIES} == set(RULES)


@pytest.mark.parametrize("policy_id, params", POLICIES)
@pytest.mark.parametrize("batch_size", [1, 7])
@pytest.mark.parametrize("model_name", ["bert", "bert-mean"])
def test_real_exits_equal_simulated_exits(trained, model_name, policy_id, params, batch_size, decide_on):
    run, data = trained[model_name]
    bundle = load_model(run / "model")
    test = load_exit_outputs(run / "test.npz")
    policy = fitted(policy_id, run, **params)
    from eebench.tasks import load_split

    split = load_split(data, "test")
    encoded = bundle.encoder.encode(split.inputs)
    for start in range(0, len(split), batch_size):
        rows = np.arange(start, min(start + batch_size, len(split)))
        real = early_exit_predict(bundle.model, policy, encoded.batch(rows), split.labels[rows])
        with torch.no_grad():
            out = bundle.model(encoded.batch(rows))
        inputs = {"lte_scores": out.lte_scores.numpy()} if policy_id == "lte" else {}
        expected, _ = simulate(policy, out.logits.numpy(), split.labels[rows], **inputs)
        np.testing.assert_array_equal(real.exit_layer, expected)
        np.testing.assert_allclose(real.logits, out.logits.numpy()[np.arange(len(rows)), expected - 1], atol=1e-5)
    # the cached logits (another batching) lead to the same decisions
    cached, _ = simulate(policy, test.logits, test.labels, **_inputs(policy_id, test))
    assert np.mean(cached == _all_real_exits(bundle, policy, encoded, split.labels)) == 1.0


@pytest.mark.parametrize("policy_id, exit_when", [("maxprob", ">="), ("entropy", "<")])
def test_score_on_the_threshold_is_decided_as_numpy_decides(trained, policy_id, exit_when):
    """A threshold equal to a sample's NumPy score at exit 1: torch's score may differ in the last bits, so the
    sample falls in the tie band and NumPy's step settles it (exit for '>=', stay for '<')."""
    run, data = trained["bert"]
    bundle = load_model(run / "model")
    from eebench.tasks import load_split

    batch = bundle.encoder.encode(load_split(data, "test").inputs[:1]).batch([0])
    with torch.no_grad():
        logits = bundle.model(batch).logits.numpy()
    policy = make_policy(policy_id)
    policy.threshold = float(policy.layer_score(policy.start(1), 1, logits[:, 0])[0])
    expected, _ = simulate(policy, logits)
    assert expected[0] == 1 if exit_when == ">=" else expected[0] > 1
    assert early_exit_predict(bundle.model, policy, batch).exit_layer[0] == expected[0]


@pytest.mark.parametrize("batch_size", [1, 7])
def test_a_closed_exit_is_never_left_in_real_inference(trained, batch_size, decide_on):
    """maxprob at threshold 0 sends every sample out at exit 1; with exit 1 closed (as `fit` closes an exit that is
    degenerate on val) every sample leaves at exit 2, in real inference as in simulation."""
    run, data = trained["bert"]
    bundle = load_model(run / "model")
    from eebench.tasks import load_split

    split = load_split(data, "test")
    policy = make_policy("maxprob", threshold=0.0)
    policy.closed_exits_ = [1]
    rows = np.arange(batch_size)
    real = early_exit_predict(bundle.model, policy, bundle.encoder.encode(split.inputs).batch(rows))
    assert real.exit_layer.tolist() == [2] * batch_size


def _all_real_exits(bundle, policy, encoded, labels):
    return np.concatenate([early_exit_predict(bundle.model, policy, encoded.batch([i]), labels[[i]]).exit_layer
                           for i in range(len(labels))])


def test_lte_policy_needs_a_model_with_lte_heads(trained):
    run, data = trained["mlp"]
    bundle = load_model(run / "model")
    policy = make_policy("lte", threshold=0.5)
    batch = bundle.encoder.encode(np.zeros((1, 8, 8), dtype=np.uint8)).batch([0])
    with pytest.raises(ConfigError, match="only strategy 'alternating' trains"):
        early_exit_predict(bundle.model, policy, batch)


@pytest.mark.parametrize("name", ["bert", "mlp"])
def test_costs_are_cumulative_measured_flops(trained, tmp_path, name):
    run, data = trained[name]
    measure_costs(run / "model", data, tmp_path / "costs.json")
    costs = json.loads((tmp_path / "costs.json").read_text())
    flops = np.array(costs["flops"])
    assert costs["n_exits"] == len(flops) == (3 if name == "bert" else 4)
    assert costs["per_sample"] is True and costs["method"] == "torch.utils.flop_counter.FlopCounterMode"
    assert np.all(np.diff(flops) > 0) and flops[0] > 0
    if name == "mlp":  # exact count: stem 64→128, then per exit a 128×128 block and a 128→10 head (2 FLOPs/MAC)
        stem, block, head = 2 * 64 * 128, 2 * 128 * 128, 2 * 128 * 10
        np.testing.assert_array_equal(flops, [stem + k * (block + head) for k in range(1, 5)])
        assert costs["full_model_flops"] == stem + 4 * block + head  # no intermediate heads


def test_costs_are_the_mean_over_samples_of_each_samples_count(trained, tmp_path):
    """Costs are counted once per input shape: the result is still the mean over the test samples of each one's
    own count, on sentences of several lengths, some shared."""
    from eebench.inference.costs import COST_SAMPLES, cumulative_flops
    from eebench.tasks import load_split

    run, data = trained["bert"]
    measure_costs(run / "model", data, tmp_path / "costs.json")
    bundle, test = load_model(run / "model"), load_split(data, "test")
    encoded = bundle.encoder.encode(test.inputs[:COST_SAMPLES])
    lengths = encoded.lengths()
    assert 1 < len(set(lengths)) < len(lengths)
    each = [cumulative_flops(bundle.model, encoded.batch([i])) for i in range(len(encoded))]
    costs = json.loads((tmp_path / "costs.json").read_text())
    np.testing.assert_allclose(costs["flops"], np.mean(each, axis=0))


def test_one_transformer_layer_costs_its_hand_count(trained):
    """Exit 2 minus exit 1 of a one-sentence batch is layer 2 and its heads, counted by hand (2 FLOPs per
    multiply-add): Q, K, V and output projections 4·T·H², the feed-forward 2·T·H·I, attention scores Q·Kᵀ and the
    weighted sum of V 2·T²·H, the exit head H·C and the learning-to-exit head H."""
    from eebench.inference.costs import cumulative_flops

    run, data = trained["bert"]
    bundle = load_model(run / "model")
    batch = bundle.encoder.encode(["a fine and moving film"]).batch([0])
    t, h, i, c = batch["input_ids"].shape[1], TINY["hidden_size"], TINY["intermediate_size"], 2
    flops = cumulative_flops(bundle.model, batch)
    per_layer = 2 * (4 * t * h * h + 2 * t * h * i + 2 * t * t * h + h * c + h)
    assert flops[1] - flops[0] == per_layer


@pytest.mark.parametrize("name, policy_id, params", [("bert", "patience", {"patience": 1}), ("mlp", "maxprob", {}),
                                                     ("bert", "lte", {})])
def test_latency_report_times_each_batch_size_and_checks_decisions(trained, tmp_path, name, policy_id, params):
    run, data = trained[name]
    write_json(tmp_path / "fit.json", fitted(policy_id, run, **params).to_dict())
    measure_latency(run / "model", data, tmp_path / "fit.json", tmp_path / "latency.json", batch_sizes=(1, 8),
                    samples=30, passes=3)
    report = json.loads((tmp_path / "latency.json").read_text())
    assert report["policy"] == policy_id and report["device"] == "cpu"
    assert report["passes"] == 3 and report["n_samples"] == 30 and list(report["by_batch_size"]) == ["1", "8"]
    for entry in report["by_batch_size"].values():
        assert 0 < entry["early_exit_seconds_min"] <= entry["early_exit_seconds_median"]
        assert 0 < entry["full_depth_seconds_min"] <= entry["full_depth_seconds_median"]
        low, high = entry["wall_clock_speedup_spread"]
        assert low <= entry["wall_clock_speedup"] <= high
        assert 1 <= entry["mean_exit_layer"] <= report["n_exits"]
        assert entry["decisions_match_simulation"] is True
    assert report["decisions_match_simulation"] is True
