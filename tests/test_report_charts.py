"""Chart specs of the report: valid Vega-Lite (altair validates against the schema in to_dict) with the encodings a
reader relies on, the data the check pictures are drawn from, and the temperature-scaled calibration in checks.json."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from eebench.policies.checks import check_stage
from eebench.report import charts

POLICIES = ["final", "static-k", "maxprob", "patience", "oracle"]


def cell(policy, seed, strategy="joint"):
    return {"task": "t", "backbone": "mlp", "strategy": strategy, "seed": seed, "policy": policy}


@pytest.fixture
def frames():
    curves, results = [], []
    for seed, shift in ((0, 0.0), (1, 0.01)):
        for policy, points in {
            "final": [(1.0, 0.90)],
            "oracle": [(3.0, 0.97)],
            "static-k": [(1.0, 0.90), (4 / 3, 0.85), (2.0, 0.70), (4.0, 0.40)],
            "maxprob": [(1.0, 0.90), (1.5, 0.895), (2.0, 0.87), (3.0, 0.60)],
            "patience": [(1.0, 0.90), (1.3, 0.90), (1.6, 0.89)],
        }.items():
            for k, (x, y) in enumerate(points):
                curves.append({**cell(policy, seed), "knob": "k", "knob_value": len(points) - k, "layer_speedup": x,
                               "metric": y + shift})
            x, y = points[min(1, len(points) - 1)]
            results.append({**cell(policy, seed), "layer_speedup": x, "metric": y + shift, "metric_name": "accuracy"})
    return pd.DataFrame(curves), pd.DataFrame(results)


def layers(spec):
    return [layer for panel in spec["concat"] for layer in panel["layer"]]


def test_speedup_chart_encodes_policies_by_colour_and_shape_with_a_legend_highlight(frames):
    curves, results = frames
    spec = charts.speedup_chart(curves, results, "accuracy", 0.01, POLICIES).to_dict()
    lines = [l for l in layers(spec) if l["mark"]["type"] == "line"]
    points = [l for l in layers(spec) if l["mark"]["type"] == "point" and "shape" in l["encoding"]]
    assert lines and points
    # only the adaptive methods are curves; final, static-k and oracle are reference marks
    assert lines[0]["encoding"]["color"]["scale"]["domain"] == ["maxprob", "patience"]
    assert lines[0]["encoding"]["color"]["scale"]["range"] == charts.PALETTE[:2]
    assert points[0]["encoding"]["shape"]["field"] == "policy"
    (param,) = spec["params"]
    assert param["select"]["fields"] == ["policy"] and param["bind"] == "legend"
    assert "condition" in lines[0]["encoding"]["opacity"]
    rules = [l for l in layers(spec) if l["mark"]["type"] == "rule"]
    assert rules, "the final exit and its tolerance are horizontal rules"
    labels = [l for l in layers(spec) if l["mark"]["type"] == "text" and l["encoding"]["text"].get("field") == "text"]
    assert labels, "fitted points are labelled with the policy"


def test_coinciding_fitted_points_share_one_label():
    points = pd.DataFrame({"panel": "p", "policy": ["a", "b", "c"], "layer_speedup": [2.0, 2.001, 3.0],
                           "metric": [0.9, 0.9, 0.9]})
    labels = charts.point_labels(points, [1.0, 4.0], [0.8, 1.0])
    assert list(labels["text"]) == ["a, b", "c"]


def test_speedup_chart_focuses_the_y_axis_where_methods_operate(frames):
    curves, results = frames
    spec = charts.speedup_chart(curves, results, "accuracy", 0.01, POLICIES).to_dict()
    line = next(l for l in layers(spec) if l["mark"]["type"] == "line")
    low, high = line["encoding"]["y"]["scale"]["domain"]
    # bottom: final (0.905 mean) - 2 tolerances = 0.885, below the lowest fitted point (maxprob, 0.90); top: the best
    # mean curve point (0.905); span 0.02 -> 5 % below, 20 % above (room for the oracle's mark). The sweeps' 0.40-0.70
    # tails and the oracle's 0.97 are outside.
    assert (low, high) == pytest.approx((0.885 - 0.001, 0.905 + 0.004))


def test_mean_curves_average_seeds_on_a_common_grid(frames):
    curves, _ = frames
    means = charts.mean_curves(curves[curves["policy"] == "maxprob"].assign(panel="p"))
    at_two = means.iloc[(means["layer_speedup"] - 2.0).abs().argmin()]
    assert means["layer_speedup"].min() == 1.0 and means["layer_speedup"].max() == 3.0
    assert at_two["metric_min"] <= at_two["metric"] <= at_two["metric_max"]
    assert at_two["metric_max"] - at_two["metric_min"] == pytest.approx(0.01, abs=1e-9)


def test_exit_histograms_pool_seeds_into_shares(tmp_path):
    paths = []
    for seed, histogram in ((0, [1, 3, 0, 0]), (1, [3, 1, 0, 4])):
        path = tmp_path / "runs/t/mlp/joint" / f"seed{seed}" / "policies/maxprob/test.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps({"exit_histogram": histogram}))
        paths.append(path)
    shares = charts.exit_histograms(paths).set_index("exit")["share"]
    assert shares.to_dict() == pytest.approx({1: 4 / 12, 2: 4 / 12, 3: 0.0, 4: 4 / 12})
    spec = charts.exit_histogram_chart(charts.exit_histograms(paths), ["maxprob"]).to_dict()
    assert spec["facet"]["field"] == "policy" and spec["spec"]["encoding"]["y"]["field"] == "share"


def reliability(counts, confidence, accuracy):
    return {"count": counts, "confidence": confidence, "accuracy": accuracy}


def test_reliability_frame_pools_bins_by_count():
    run = {"backbone": "mlp", "strategy": "joint"}
    checks = [
        ({**run, "seed": 0}, {"calibration": {"test": {"ece": [0.1], "reliability": [
            reliability([0] * 9 + [3], [None] * 9 + [0.95], [None] * 9 + [1.0])]}}}),
        ({**run, "seed": 1}, {"calibration": {"test": {"ece": [0.3], "reliability": [
            reliability([0] * 9 + [1], [None] * 9 + [0.91], [None] * 9 + [0.0])]}}}),
    ]
    frame = charts.reliability_frame(checks)
    (row,) = frame.to_dict("records")
    # bin 9: (3 x 0.95 + 1 x 0.91) / 4 = 0.94; accuracy (3 x 1 + 0) / 4 = 0.75; ECE mean of the seeds
    assert (row["count"], row["confidence"], row["accuracy"], row["ece"]) == pytest.approx((4, 0.94, 0.75, 0.2))
    assert row["scaling"] == "before"
    spec = charts.reliability_chart(frame).to_dict()
    assert spec["facet"]["column"]["field"] == "exit" and spec["facet"]["row"]["field"] == "panel"


def test_error_verdict_names_the_rises():
    run = {"backbone": "mlp", "strategy": "joint", "seed": 0}
    rises = [{"exit": 2, "size": 0.05, "significant": True}, {"exit": 4, "size": 0.001, "significant": False}]
    errors = {"val": {"error_rate": [0.3, 0.2], "monotone_decreasing": True},
              "test": {"error_rate": [0.2, 0.25, 0.1, 0.101], "monotone_decreasing": False, "rises_at_exits": [2],
                       "rises": rises}}
    frame = charts.error_frame([(run, {"errors": errors})])
    assert set(frame["title"]) == {"mlp / joint — test error seed0: rises at exit 2 (+5.0 pts), 1 rise not significant"}
    line = charts.error_chart(frame).to_dict()["spec"]["layer"][0]
    assert line["mark"]["type"] == "line" and line["encoding"]["strokeDash"]["field"] == "seed"


def test_regression_checks_give_charts_that_say_why_they_are_empty():
    run = {"backbone": "mlp", "strategy": "joint", "seed": 0}
    report = {"errors": {s: {"mean_absolute_error": [0.5, 0.4], "monotone_decreasing": True} for s in ("val", "test")}}
    for frame, chart in charts.CHECK_CHARTS.values():
        chart(frame([(run, report)])).to_dict()  # validates
    notice = charts.reliability_chart(charts.reliability_frame([(run, report)])).to_dict()
    assert "regression outputs have no confidence" in json.dumps(notice["datasets"])


def test_pcee_chart_marks_targets_that_fail():
    run = {"backbone": "mlp", "strategy": "joint", "seed": 0}
    report = {"errors": {"test": {"error_rate": [0.3, 0.1]}},
              "pcee_targets": [{"delta": 0.8, "test_accuracy": 0.85, "holds": True, "status": "holds"},
                               {"delta": 0.85, "test_accuracy": 0.84, "holds": False, "status": "fails"},
                               {"delta": 0.95, "test_accuracy": 0.88, "holds": None, "status": "unattainable"}]}
    frame = charts.pcee_frame([(run, report)])
    assert list(frame["holds"]) == ["holds", "fails", "unattainable"]
    assert frame["final_accuracy"].iloc[0] == pytest.approx(0.9)
    spec = charts.pcee_chart(frame).to_dict()
    assert any(l["mark"] == {"type": "line", "color": "#999", "strokeDash": [4, 4]} for l in spec["layer"])


def test_checks_hold_reliability_after_temperature_scaling(tmp_path):
    """An over-confident exit (logits ×4 of calibrated ones) gets T ≈ 4 on val and a lower ECE on test after it."""
    rng = np.random.default_rng(0)

    def split(n):
        labels = rng.integers(0, 3, n)
        calibrated = rng.normal(0, 1, (n, 1, 3))
        calibrated[np.arange(n), 0, labels] += 1.5
        probs = np.exp(calibrated) / np.exp(calibrated).sum(axis=2, keepdims=True)
        labels = np.array([rng.choice(3, p=p) for p in probs[:, 0]])  # labels drawn from the calibrated probs
        logits = np.concatenate([4 * calibrated, calibrated], axis=1).astype(np.float32)
        return {"logits": logits, "labels": labels, "sample_ids": np.arange(n)}

    for name, n in (("val", 3000), ("test", 3000)):
        np.savez(tmp_path / f"{name}.npz", **split(n))
    report = check_stage(tmp_path / "val.npz", tmp_path / "test.npz", None, tmp_path / "checks.json")
    scaled = report["calibration_scaled"]
    assert scaled["temperatures"][0] == pytest.approx(4.0, rel=0.15)
    assert scaled["temperatures"][1] == pytest.approx(1.0, rel=0.15)
    assert scaled["test"]["ece"][0] < report["calibration"]["test"]["ece"][0] / 2
    assert len(scaled["test"]["reliability"]) == 2
