"""Domain shift on real data: a model trained and fitted on one sentiment domain (UCI Amazon sentences) is tested
on another (UCI Yelp sentences). The val-fitted threshold (`maxprob`) is transferred as is, while the online,
label-free `ucb` adapts on the target stream — the comparison CeeBERT makes — and reports the best fixed threshold
in hindsight on that stream."""

import pytest

from eebench.inference import measure_costs, predict_split
from eebench.io import read_json
from eebench.policies.stages import evaluate_stage, fit_stage
from eebench.tasks import load_info, prepare_task
from eebench.training import train_run

pytestmark = [pytest.mark.realdata, pytest.mark.slow, pytest.mark.usefixtures("one_thread")]


@pytest.fixture(scope="module")
def shifted_run(shared_data, tmp_path_factory):
    root = tmp_path_factory.mktemp("shift")
    data = root / "data"
    options = {"path": str(shared_data), "source": "uci-amazon", "target": "uci-yelp"}
    prepare_task("sentiment-shift", options, data, seed=0)
    train_run(data, root / "model", "bert-tiny", {"n_layers": 3}, "joint", {},
              {"epochs": 3, "lr": 1e-3, "batch_size": 32, "max_length": 32, "warmup_ratio": 0.1}, 0)
    for split in ("val", "test"):
        predict_split(root / "model", data, split, root / f"{split}.npz")
    measure_costs(root / "model", data, root / "costs.json")
    return root, data


@pytest.mark.parametrize("policy", ["maxprob", "ucb"])
def test_policies_transfer_to_a_shifted_domain(shifted_run, policy):
    root, data = shifted_run
    domains = load_info(data)["domains"]
    assert domains["val"] == "uci-amazon" and domains["test"] == "uci-yelp"
    fit_stage(root / "val.npz", root / "costs.json", policy, {}, "accuracy", 0.02, root / f"{policy}.fit.json")
    result = evaluate_stage(root / f"{policy}.fit.json", root / "test.npz", root / "costs.json", "accuracy",
                            root / f"{policy}.test.json")
    assert result == read_json(root / f"{policy}.test.json")
    assert result["n_samples"] == 1000 and 1.0 <= result["layer_speedup"] <= 3.0
    assert result["primary"] > 0.55  # a 3-layer model trained on Amazon sentences transfers above chance to Yelp
    if policy == "ucb":
        hindsight = result["best_fixed_in_hindsight"]
        assert hindsight["n_samples"] == 1000 and 0.5 <= hindsight["threshold"] <= 0.95
