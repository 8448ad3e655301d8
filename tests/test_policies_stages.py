"""The CLI-facing stages: fit.json / test.json / curve.csv contents, round trips and clear errors."""

import csv
import io
import json

import numpy as np
import pytest

from eebench.errors import ConfigError, DataError
from eebench.exits import ExitOutputs
from eebench.policies import POLICIES, make_policy, policy_from_dict, simulate
from eebench.policies.stages import curve_stage, evaluate_logits, evaluate_stage, fit_stage, policy_cell_stage
from policy_helpers import synthetic_exits


@pytest.fixture
def splits(tmp_path):
    paths = {}
    for split, seed in (("val", 1), ("test", 2)):
        logits, labels = synthetic_exits(n=300, n_exits=5, n_classes=3, seed=seed)
        paths[split] = tmp_path / f"{split}.npz"
        lte_scores = np.random.default_rng(seed).random(logits.shape[:2])
        ExitOutputs(logits, labels, np.arange(len(labels)), {"lte_scores": lte_scores}).save(paths[split])
    paths["costs"] = tmp_path / "costs.json"
    paths["costs"].write_text(json.dumps({"flops": [10, 20, 30, 40, 50], "n_exits": 5}))
    return paths



@pytest.mark.parametrize("policy_id", ["patience", "ucb"])
def test_policy_cell_writes_the_files_of_the_three_stages(policy_id, splits, tmp_path):
    """The grid's one job per cell writes byte for byte what fit, evaluate and curve write one after another."""
    alone, cell = tmp_path / "alone", tmp_path / "cell"
    alone.mkdir(), cell.mkdir()
    fit_stage(splits["val"], splits["costs"], policy_id, {}, "accuracy", 0.02, alone / "fit.json")
    evaluate_stage(alone / "fit.json", splits["test"], splits["costs"], "accuracy", alone / "test.json")
    curve_stage(alone / "fit.json", splits["test"], splits["costs"], "accuracy", 7, alone / "curve.csv")
    policy_cell_stage(splits["val"], splits["test"], splits["costs"], policy_id, {}, "accuracy", 0.02, 7,
                      cell / "fit.json", cell / "test.json", cell / "curve.csv")
    for name in ("fit.json", "test.json", "curve.csv"):
        assert (cell / name).read_bytes() == (alone / name).read_bytes(), name


def test_policy_cell_checks_the_points_before_writing_anything(splits, tmp_path):
    cell = tmp_path / "cell"
    cell.mkdir()
    with pytest.raises(ConfigError, match="points"):
        policy_cell_stage(splits["val"], splits["test"], None, "maxprob", {}, "accuracy", 0.02, 0,
                          cell / "fit.json", cell / "test.json", cell / "curve.csv")
    assert list(cell.iterdir()) == []

@pytest.mark.parametrize("policy_id", list(POLICIES))
def test_fit_evaluate_curve_files(policy_id, splits, tmp_path):
    fit = fit_stage(splits["val"], splits["costs"], policy_id, {}, "accuracy", 0.02, tmp_path / "fit.json")
    assert json.loads((tmp_path / "fit.json").read_text())["policy"] == fit["policy"]
    assert fit["val"]["primary"] >= fit["val"]["metrics"]["accuracy"] - 1e-12
    test = evaluate_stage(tmp_path / "fit.json", splits["test"], splits["costs"], "accuracy", tmp_path / "test.json")
    assert sum(test["exit_histogram"]) == test["n_samples"] == 300
    assert test["layer_speedup"] == pytest.approx(5 / test["mean_exit_layer"])
    assert test["flops_speedup"] == pytest.approx(50 / (10 * test["mean_exit_layer"]))
    assert ("best_fixed_in_hindsight" in test) == (policy_id == "ucb")
    rows = curve_stage(tmp_path / "fit.json", splits["test"], None, "accuracy", 20, tmp_path / "curve.csv")
    with open(tmp_path / "curve.csv") as fh:
        read = list(csv.DictReader(fh))
    assert len(read) == len(rows) >= 1
    assert {"knob", "knob_value", "primary", "layer_speedup", "flops_speedup", "mean_exit_layer"} <= set(read[0])


def test_fit_json_round_trip(splits, tmp_path):
    fit_stage(splits["val"], None, "maxprob", {"temperature_scaling": True}, "accuracy", 0.01, tmp_path / "f.json")
    data = json.loads((tmp_path / "f.json").read_text())
    rebuilt = policy_from_dict(data)
    assert rebuilt.to_dict() == {k: data[k] for k in ("policy", "params", "fitted")}
    test, val = np.load(splits["test"]), np.load(splits["val"])
    direct = make_policy("maxprob", temperature_scaling=True).fit(val["logits"], val["labels"])
    assert np.array_equal(simulate(rebuilt, test["logits"])[0], simulate(direct, test["logits"])[0])


def test_fit_respects_tolerance(splits, tmp_path):
    for tolerance in (0.0, 0.01, 0.05):
        fit = fit_stage(splits["val"], None, "maxprob", {}, "accuracy", tolerance, tmp_path / "f.json")
        final = fit_stage(splits["val"], None, "final", {}, "accuracy", tolerance, tmp_path / "g.json")
        assert fit["val"]["primary"] >= final["val"]["primary"] - tolerance - 1e-9


def test_given_parameter_is_used_as_is(splits, tmp_path):
    fit = fit_stage(splits["val"], None, "patience", {"patience": 3}, "accuracy", 0.5, tmp_path / "f.json")
    assert fit["fitted"]["patience_"] == 3 and fit["params"]["patience"] == 3


def test_evaluate_logits_prints_row(splits):
    out = io.StringIO()
    record = evaluate_logits(splits["val"], splits["test"], "patience", {}, out=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("| policy | accuracy |") and lines[2].startswith("| patience |")
    assert "patience_=" in lines[2] and record["n_samples"] == 300


def test_evaluate_logits_shape_mismatch(splits, tmp_path):
    logits, labels = synthetic_exits(n=50, n_exits=4, n_classes=3)
    other = tmp_path / "other.npz"
    ExitOutputs(logits, labels, np.arange(50)).save(other)
    with pytest.raises(DataError, match="4 exits, but policy 'maxprob' was fitted on val logits with 5"):
        evaluate_logits(splits["val"], other, "maxprob", {}, out=io.StringIO())


def test_bad_inputs_are_clear(splits, tmp_path):
    with pytest.raises(DataError, match="file not found"):
        fit_stage(tmp_path / "missing.npz", None, "final", {}, "accuracy", 0.01, tmp_path / "f.json")
    with pytest.raises(ConfigError, match="metric 'pearson-spearman' does not fit class logits"):
        fit_stage(splits["val"], None, "final", {}, "pearson-spearman", 0.01, tmp_path / "f.json")
    (tmp_path / "bad_costs.json").write_text(json.dumps({"flops": [1, 2]}))
    with pytest.raises(DataError, match="expected 5 cumulative costs"):
        fit_stage(splits["val"], tmp_path / "bad_costs.json", "final", {}, "accuracy", 0.01, tmp_path / "f.json")
    assert not (tmp_path / "f.json").exists()


def test_lte_without_scores_is_clear(splits, tmp_path):
    logits, labels = synthetic_exits(n=50, n_exits=5, n_classes=3)
    plain = tmp_path / "plain.npz"
    ExitOutputs(logits, labels, np.arange(50)).save(plain)
    with pytest.raises(DataError, match="needs field 'lte_scores'"):
        fit_stage(plain, None, "lte", {}, "accuracy", 0.01, tmp_path / "f.json")
