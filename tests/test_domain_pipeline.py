"""The test domains of `uci-sentiment` flow through predict (npz `domain`) and evaluate (test.json `by_domain`)."""

import pytest

from eebench.exits import load_exit_outputs
from eebench.inference import predict_split
from eebench.policies.stages import evaluate_stage, fit_stage
from eebench.tasks import prepare_task
from eebench.training import train_run

pytestmark = pytest.mark.slow


def test_uci_domains_reach_the_test_record(tmp_path):
    data = tmp_path / "data"
    prepare_task("uci-sentiment", {"max_train": 64, "max_val": 32}, data, 0)
    model = tmp_path / "model"
    train_run(data_dir=data, out_dir=model, backbone="bert-small", backbone_options={"n_layers": 2}, strategy="joint",
              strategy_options={}, training={"max_steps": 2, "batch_size": 16, "max_length": 32}, seed=0)
    for split in ("val", "test"):
        predict_split(model, data, split, tmp_path / f"{split}.npz")
    test = load_exit_outputs(tmp_path / "test.npz")
    domains = test.extras["domain"].tolist()
    assert set(domains[:400]) == {"amazon", "yelp"} and domains[400:] == ["imdb"] * 1000  # stream order kept
    fit_stage(tmp_path / "val.npz", None, "maxprob", {}, "accuracy", 0.01, tmp_path / "fit.json")
    record = evaluate_stage(tmp_path / "fit.json", tmp_path / "test.npz", None, "accuracy", tmp_path / "test.json")
    assert set(record["by_domain"]) == {"amazon", "yelp", "imdb"} and list(record["by_domain"])[-1] == "imdb"
    sizes = {name: outcome["n_samples"] for name, outcome in record["by_domain"].items()}
    assert sizes == {"amazon": 200, "yelp": 200, "imdb": 1000}
    weighted = sum(outcome["primary"] * outcome["n_samples"] for outcome in record["by_domain"].values()) / 1400
    assert weighted == pytest.approx(record["primary"])  # the domains partition the test split
