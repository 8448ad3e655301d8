"""Results per test domain (evaluate → test.json `by_domain` → table columns), the tables' secondary metrics and
the degenerate-exit check."""

import json

import numpy as np
import pytest

from eebench.exits import DOMAIN_FIELD, ExitOutputs
from eebench.metrics.checks import checks_row, degenerate_exits
from eebench.policies import simulate
from eebench.policies.registry import policy_from_dict
from eebench.policies.checks import check_stage
from eebench.policies import make_policy
from eebench.policies.stages import curve_rows, evaluate_stage
from eebench.report.aggregate import collect_results, markdown_table, summary_table
from policy_helpers import binary


def test_degenerate_exit_by_hand():
    # Exit 1 says class 1 for 19 of 20 samples (0.95: flagged); exit 2 for 18 of 20 (0.90: not flagged).
    p_exit1 = [0.9] * 19 + [0.1]
    p_exit2 = [0.9] * 18 + [0.1, 0.1]
    outputs = ExitOutputs(binary(*zip(p_exit1, p_exit2)), np.zeros(20, dtype=np.int64), np.arange(20))
    report = degenerate_exits(outputs)
    assert report["majority_class"] == [1, 1]
    assert report["majority_share"] == pytest.approx([0.95, 0.90])
    assert report["one_class_exits"] == [1]
    # Every label is 0, so the majority rate is 1.0: exit 1 is right on 1 of 20, exit 2 on 2 of 20 — neither is
    # above always answering class 0.
    assert report["accuracy"] == pytest.approx([0.05, 0.10])
    assert report["no_better_than_majority_exits"] == [1, 2]
    assert report["degenerate_exits"] == [1, 2]


def test_an_exit_no_better_than_the_majority_rate_is_degenerate():
    # Labels 1, 1, 1, 0 (majority rate 0.75). Exit 1 predicts 1, 0, 1, 1: 2 of 4 right, below 0.75, although it
    # uses both classes (largest share 0.75 < 0.95). Exit 2 is right on all four.
    logits = binary([0.9, 0.9], [0.2, 0.9], [0.9, 0.9], [0.9, 0.1])
    report = degenerate_exits(ExitOutputs(logits, np.array([1, 1, 1, 0]), np.arange(4)))
    assert report["majority_rate"] == 0.75
    assert report["one_class_exits"] == []
    assert report["degenerate_exits"] == [1]


def degenerate_first_exit():
    """200 balanced samples, 3 exits: exit 1 says class 1 for every sample (p = 0.99, confident and useless),
    exits 2 and 3 are right with p = 0.9."""
    labels = np.arange(200) % 2
    right = np.where(labels == 1, 0.9, 0.1)
    return binary(*[[0.99, r, r] for r in right]), labels


@pytest.mark.parametrize("policy_id", ["maxprob", "entropy", "norm-entropy", "beem-c", "pcee", "static-k", "ucb"])
def test_exits_degenerate_on_val_are_closed_for_every_policy(policy_id):
    logits, labels = degenerate_first_exit()
    # At a tolerance of 0.5 (half the samples may turn wrong), exit 1's 0.5 accuracy qualifies, so a policy that
    # may use it sends every sample there; closed, no sample leaves at exit 1 and the best is exit 2.
    kept = make_policy(policy_id).fit(logits, labels, tolerance=0.5, keep_degenerate_exits=True)
    closed = make_policy(policy_id).fit(logits, labels, tolerance=0.5)
    assert kept.closed_exits_ == [] and closed.closed_exits_ == [1]
    assert (simulate(kept, logits, labels)[0] == 1).any()
    exits = simulate(closed, logits, labels)[0]
    assert not (exits == 1).any()
    assert np.array_equal(closed.decide(logits), exits)  # the vectorised path agrees with the layer loop
    assert np.array_equal(simulate(closed, logits, labels, compact=False)[0], exits)
    # fit.json carries the closed exits, so evaluate on test closes them too
    reread = policy_from_dict(json.loads(json.dumps(closed.to_dict())))
    assert np.array_equal(simulate(reread, logits, labels)[0], exits)


def test_the_oracle_keeps_every_exit():
    logits, labels = degenerate_first_exit()
    oracle = make_policy("oracle").fit(logits, labels)
    assert oracle.closed_exits_ == []
    assert (simulate(oracle, logits, labels)[0] == 1).sum() == 100  # exit 1 is right on the class-1 half


def test_degenerate_exits_are_checked_per_test_domain(tmp_path):
    # Exit 1 is fine on the whole stream (half class 1, half class 0 predicted) but on domain "b" it says class 1
    # for all 4 samples.
    logits = binary(*[[p, p] for p in (0.1, 0.1, 0.1, 0.1, 0.9, 0.9, 0.9, 0.9)])
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    outputs = ExitOutputs(logits, labels, np.arange(8), extras={DOMAIN_FIELD: np.array(["a"] * 4 + ["b"] * 4)})
    path = tmp_path / "t.npz"
    outputs.save(path)
    report = check_stage(path, path, None, tmp_path / "checks.json")
    assert report["degenerate"]["test"]["degenerate_exits"] == []
    assert list(report["degenerate"]["test_domains"]) == ["a", "b"]
    assert report["degenerate"]["test_domains"]["b"]["one_class_exits"] == [1, 2]
    row = checks_row(report)
    assert row["degenerate exits (b)"] == "1 2" and row["degenerate exits (test)"] == "none"


def test_checks_json_flags_degenerate_exits_on_val_and_test(tmp_path):
    logits = binary(*[[0.8, p] for p in (0.9, 0.1, 0.8, 0.2)])  # exit 1: class 1 for all; exit 2 balanced
    path = tmp_path / "t.npz"
    ExitOutputs(logits, np.array([1, 0, 1, 0]), np.arange(4)).save(path)
    report = check_stage(path, path, None, tmp_path / "checks.json")
    assert report["degenerate"]["test"]["degenerate_exits"] == [1]
    assert report["degenerate"]["val"]["majority_share"] == pytest.approx([1.0, 0.5])


def write_fit(path, policy):
    path.write_text(json.dumps(policy.to_dict()))
    return path


def test_evaluate_reports_each_domain_by_hand(tmp_path):
    # static-1: the prediction is exit 1's. Domain a: samples 0-1 (both right); domain b: samples 2-4 (one right).
    logits = binary([0.9, 0.9], [0.2, 0.2], [0.9, 0.1], [0.9, 0.1], [0.1, 0.9])
    labels = np.array([1, 0, 1, 0, 0])
    test = tmp_path / "test.npz"
    ExitOutputs(logits, labels, np.arange(5), {"domain": np.array(["a", "a", "b", "b", "b"])}).save(test)
    policy = make_policy("static", layer=1).fit(logits, labels)
    record = evaluate_stage(write_fit(tmp_path / "fit.json", policy), test, None, "accuracy", tmp_path / "out.json")
    assert list(record["by_domain"]) == ["a", "b"]
    assert record["by_domain"]["a"]["primary"] == pytest.approx(1.0)
    assert record["by_domain"]["b"]["primary"] == pytest.approx(2 / 3)
    assert record["by_domain"]["b"]["n_samples"] == 3 and record["by_domain"]["b"]["layer_speedup"] == pytest.approx(2.0)
    assert record["primary"] == pytest.approx(0.8)


def test_test_json_holds_every_sample_and_the_oracle_its_limit(tmp_path):
    # Earliest correct exits 1, 2, 2 and none (sample 3 is wrong everywhere); the final exit is right on 0-2 (0.75).
    # Tolerance 0.25 needs 2 right: sample 0 at exit 1, one of the exit-2 samples; the rest leave at exit 1.
    logits = binary([0.9, 0.9], [0.1, 0.9], [0.1, 0.9], [0.1, 0.1])
    labels = np.array([1, 1, 1, 1])
    test = tmp_path / "test.npz"
    ExitOutputs(logits, labels, np.arange(4)).save(test)
    oracle = make_policy("oracle").fit(logits, labels)
    fit = tmp_path / "fit.json"
    fit.write_text(json.dumps({**oracle.to_dict(), "tolerance": 0.25}))
    record = evaluate_stage(fit, test, None, "accuracy", tmp_path / "out.json")
    assert record["samples"] == {"exit_layer": [1, 2, 2, 2], "prediction": [1, 1, 1, 0], "label": [1, 1, 1, 1]}
    limit = record["least_depth_within_tolerance"]
    assert limit["samples"]["exit_layer"] == [1, 2, 1, 1]
    assert limit["primary"] == pytest.approx(0.5) and limit["layer_speedup"] == pytest.approx(2 / 1.25)


def test_curves_carry_each_domain_by_hand(tmp_path):
    # static-k swept over k = 1, 2: domain a (samples 0-1) right at both exits; domain b half right at exit 1, all
    # right at exit 2 (exit 1 is right on 3 of 4 overall, above the 0.5 majority rate, so it stays open)
    logits = binary([0.9, 0.9], [0.2, 0.2], [0.1, 0.9], [0.1, 0.1])
    labels = np.array([1, 0, 1, 0])
    outputs = ExitOutputs(logits, labels, np.arange(4), {"domain": np.array(["a", "a", "b", "b"])})
    rows = curve_rows(make_policy("static-k").fit(logits, labels), outputs, "t.npz", None, "accuracy", 2)
    by_layer = {row["mean_exit_layer"]: row for row in rows}
    assert by_layer[1.0]["a/metric"] == 1.0 and by_layer[1.0]["b/metric"] == 0.5
    assert by_layer[2.0]["b/metric"] == 1.0 and by_layer[2.0]["b/layer_speedup"] == 1.0
    assert by_layer[1.0]["a/layer_speedup"] == 2.0


def cell(root, seed, policy, record):
    folder = root / "runs" / "mrpc" / "minilm-l6" / "joint" / f"seed{seed}" / "policies" / policy
    folder.mkdir(parents=True)
    (folder / "test.json").write_text(json.dumps(record))
    return folder / "test.json"


def test_table_carries_secondary_metrics_and_domain_columns(tmp_path):
    def record(f1, accuracy, shifted):
        return {"metric": "f1", "primary": f1, "metrics": {"f1": f1, "accuracy": accuracy}, "layer_speedup": 1.5,
                "flops_speedup": None, "mean_exit_layer": 4.0,
                "by_domain": {"news": {"primary": f1, "layer_speedup": 1.5}, "web": {"primary": shifted, "layer_speedup": 2.0}}}

    paths = [cell(tmp_path, 0, "maxprob", record(0.80, 0.70, 0.60)), cell(tmp_path, 1, "maxprob", record(0.90, 0.74, 0.70))]
    table = summary_table(collect_results(paths), ["maxprob"])
    row = table.iloc[0]
    assert row["accuracy_mean"] == pytest.approx(0.72) and row["accuracy_std"] == pytest.approx(0.02)
    assert row["web/metric_mean"] == pytest.approx(0.65) and row["web/layer_speedup_mean"] == pytest.approx(2.0)
    main, domains = markdown_table(table, "f1"), markdown_table(table, "f1", domains=True)
    assert "accuracy" in main and "0.7200 ± 0.0200" in main and "web" not in main
    assert "web f1" in domains and "0.6500 ± 0.0500" in domains and "web layer speed-up" in domains


def test_checks_table_shows_per_exit_error_on_val_and_test_and_degenerate_exits(tmp_path):
    from eebench.report.aggregate import checks_table

    logits = binary(*[[0.8, p] for p in (0.9, 0.1, 0.8, 0.2)])  # exit 1: class 1 for all (degenerate)
    run = tmp_path / "runs" / "t" / "b" / "joint" / "seed0"
    run.mkdir(parents=True)
    ExitOutputs(logits, np.array([1, 0, 1, 0]), np.arange(4)).save(run / "t.npz")
    check_stage(run / "t.npz", run / "t.npz", None, run / "checks.json")
    row = checks_table([run / "checks.json"]).iloc[0]
    assert row["val error per exit"] == "0.500 0.000" and row["test error per exit"] == "0.500 0.000"
    assert row["degenerate exits (test)"] == "1"
