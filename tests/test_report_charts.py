"""Chart specs of the report: valid Vega-Lite (altair validates against the schema in to_dict) with the encodings a
reader relies on, the data the check pictures are drawn from, and the temperature-scaled calibration in checks.json."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from eebench.policies.checks import check_stage
from eebench.report import charts
from eebench.report.aggregate import TRAINING_POINTS, training_bands, training_chart

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
    chart = charts.speedup_chart(curves, results, "accuracy", 0.01, POLICIES)
    spec = chart.to_dict()
    lines = [l for l in layers(spec) if l["mark"]["type"] == "line"]
    points = [l for l in layers(spec) if l["mark"]["type"] == "point" and "shape" in l["encoding"]]
    assert lines and points
    # only the adaptive methods are curves; final, static-k and oracle are reference marks
    assert lines[0]["encoding"]["color"]["scale"]["domain"] == ["maxprob", "patience"]
    assert lines[0]["encoding"]["color"]["scale"]["range"] == charts.POLICY_COLOURS[:2]
    assert points[0]["encoding"]["shape"]["field"] == "policy"
    (param,) = spec["params"]
    assert param["select"]["fields"] == ["policy"] and param["bind"] == "legend"
    assert "condition" in lines[0]["encoding"]["opacity"]
    rules = [l for l in layers(spec) if l["mark"]["type"] == "rule" and "x2" not in l["encoding"]]
    assert rules, "the final exit and its tolerance are horizontal rules"
    labels = [l for l in layers(spec) if l["mark"]["type"] == "text"]
    assert labels, "fitted points are labelled with the policy"
    # the legend sits below the panels; the picture names no interaction, the HTML page says it in its text
    legend = lines[0]["encoding"]["color"]["legend"]
    assert legend["orient"] == "bottom" and legend["title"] == "policy"
    assert "click" not in json.dumps(spec).replace(charts.HIGHLIGHT_HINT, "")
    assert spec["description"] == charts.HIGHLIGHT_HINT


def test_twenty_policies_get_twenty_colours_and_distinct_colour_marker_pairs():
    styles = [charts.policy_style(i) for i in range(20)]
    assert len({colour for colour, _, _ in styles}) == 20
    assert len({(colour, shape) for colour, shape, _ in styles}) == 20
    # a light colour shares its hue with the strong one ten places before: marker and dash differ from it
    for i in range(10):
        assert styles[i][1] != styles[i + 10][1] and styles[i][2] != styles[i + 10][2]
    assert "cross" not in charts.SHAPES, "the oracle's mark"
    assert len({(c, s) for c, s, _ in map(charts.policy_style, range(140))}) == 140


def test_coinciding_fitted_points_share_one_label():
    points = pd.DataFrame({"panel": "p", "policy": ["a", "b", "c", "d"], "layer_speedup": [2.0, 2.0, 2.001, 2.0],
                           "metric": [0.9, 0.9, 0.9, 0.9 + 1e-15]})
    labels = charts.coinciding_points(points)
    # equal up to float rounding coincide; a point a pixel away is another point with a label of its own
    assert list(labels["text"]) == ["a = b = d", "c"]


def test_the_chart_labels_policies_whose_decisions_coincide_once(frames):
    curves, results = frames
    same = results[results["policy"] == "maxprob"].assign(policy="entropy")
    results = pd.concat([results, same], ignore_index=True)
    curves = pd.concat([curves, curves[curves["policy"] == "maxprob"].assign(policy="entropy")], ignore_index=True)
    spec = charts.speedup_chart(curves, results, "accuracy", 0.01, [*POLICIES, "entropy"]).to_dict()
    texts = [row["text"] for rows in spec["datasets"].values() for row in rows if "text" in row]
    assert "maxprob = entropy" in texts and "maxprob" not in texts and "entropy" not in texts


def rendered_boxes(screen, rows):
    boxes = []
    for row in rows:
        left, top = screen.pixel(row["layer_speedup"], row["metric"])
        width, height = charts.label_size(row["style"], row["text"])
        boxes.append(charts.Box(left, top, left + width, top + height))
    return boxes


def test_labels_of_crowded_points_are_placed_apart_or_listed():
    screen = charts.Screen((1.0, 3.0), (0.90, 1.00))
    # seven points within a few pixels of each other, and one far away
    groups = pd.DataFrame({"text": [f"policy-{i}" for i in range(7)] + ["alone"],
                           "layer_speedup": [2.0 + 0.01 * i for i in range(7)] + [1.2],
                           "metric": [0.95 + 0.002 * (i % 3) for i in range(7)] + [0.92]})
    rules = [("final exit", 0.99), ("final − 0.01 (tolerance)", 0.98)]
    oracle = [("oracle · least depth within tolerance: 2.80×, 0.980", 2.8, 0.98)]
    static = [("k=2", 2.0, 0.951), ("k=3", 1.5, 0.97)]
    rows, leaders, unplaced = charts.panel_labels(screen, groups, rules, oracle, static)
    boxes = rendered_boxes(screen, rows)
    markers = [charts.marker_box(*screen.pixel(x, y), charts.MARKER_RADIUS["policy"])
               for x, y in groups[["layer_speedup", "metric"]].itertuples(index=False)]
    panel = charts.Box(0, 0, screen.width, screen.height)
    for i, box in enumerate(boxes):
        assert box.inside(charts.Box(-0.01, -0.01, panel.right + 0.01, panel.bottom + 0.01))
        assert not any(box.overlaps(other, gap=0) for other in boxes[i + 1:]), rows[i]["text"]
        assert not any(box.overlaps(marker, gap=0) for marker in markers), rows[i]["text"]
    # every label is drawn or listed, none twice
    named = [row["text"] for row in rows] + [where.split(" at ")[0] for where in unplaced]
    assert sorted(named) == sorted([*groups["text"], *(t for t, _ in rules), oracle[0][0], "k=2", "k=3"])
    assert "alone" in [row["text"] for row in rows]
    assert all(len(leader) == 4 for leader in leaders)


def test_a_label_with_no_room_is_listed_under_the_title():
    screen = charts.Screen((1.0, 2.0), (0.0, 1.0), width=60, height=40)
    groups = pd.DataFrame({"text": ["a-policy-with-a-long-name", "b"], "layer_speedup": [1.5, 1.9],
                           "metric": [0.5, 0.5]})
    rows, _, unplaced = charts.panel_labels(screen, groups, [], [], [])
    assert unplaced == ["a-policy-with-a-long-name at 1.50×, 0.500"]
    assert [row["text"] for row in rows] == ["b"]


def test_place_labels_takes_the_first_free_candidate():
    obstacle = charts.Box(0, 0, 10, 10)
    first = [charts.Box(5, 5, 15, 15), charts.Box(20, 0, 30, 10)]
    second = [charts.Box(21, 1, 29, 9), charts.Box(0, 20, 10, 30)]
    blocked = [charts.Box(2, 2, 8, 8)]
    placed = charts.place_labels([first, second, blocked], [obstacle], charts.Box(0, 0, 100, 100))
    assert placed == [first[1], second[1], None]


def test_subtitles_wrap_to_the_panel_width():
    lines = charts.wrap_text("no room to label: " + "; ".join(f"policy-{i} at 1.50×, 0.900" for i in range(6)),
                             charts.PANEL_WIDTH, 10)
    assert len(lines) > 1 and all(charts.text_width(line, 10) <= charts.PANEL_WIDTH for line in lines)


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
    assert row["label"] == "mlp / joint · seeds 0, 1 pooled" and row["unit"] == "samples"
    spec = charts.reliability_chart(frame).to_dict()
    assert spec["facet"]["column"]["field"] == "exit" and spec["facet"]["row"]["field"] == "label"
    # each bin's marker is as large as the samples it holds, with a legend that says so
    (sized,) = [l for l in spec["spec"]["layer"] if "size" in l["encoding"]]
    assert sized["encoding"]["size"]["field"] == "count"
    assert sized["encoding"]["size"]["title"] == "test samples in bin"


def test_a_reliability_panel_of_one_seed_names_it():
    run = {"backbone": "mlp", "strategy": "joint", "seed": 3}
    report = {"unit": "token", "calibration": {"test": {"ece": [0.1], "reliability": [
        reliability([0] * 9 + [3], [None] * 9 + [0.95], [None] * 9 + [1.0])]}}}
    frame = charts.reliability_frame([(run, report)])
    assert set(frame["label"]) == {"mlp / joint · seed 3"} and set(frame["unit"]) == {"tokens"}


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
    assert spec["facet"]["field"] == "panel"
    texts = json.dumps(spec["spec"]["layer"], ensure_ascii=False)
    assert "accuracy = δ" in texts and "'final exit '" in texts, "the diagonal and the final exit are labelled"


def test_pcee_axes_are_scaled_to_the_data():
    frame = pd.DataFrame({"panel": "p", "seed": "seed0", "delta": [0.8, 0.85, 0.95], "accuracy": [0.86, 0.87, 0.88],
                          "holds": ["holds", "holds", "fails"], "final_accuracy": 0.9})
    x_domain, y_domain = charts.pcee_domains(frame)
    # accuracies 0.86-0.88, the final exit 0.90 and the largest target 0.95 (where the diagonal shows): span 0.09
    assert y_domain == pytest.approx([0.86 - 0.009, 0.95 + 0.009])
    assert x_domain == pytest.approx([0.78, 0.97])
    spec = charts.pcee_chart(frame).to_dict()
    y = next(l["encoding"]["y"] for l in spec["spec"]["layer"] if l["encoding"].get("y", {}).get("field") == "accuracy")
    assert y["scale"]["domain"] == pytest.approx(y_domain)
    # the final exit's label goes to the end of its rule away from the points (0.86 at the left, 0.88 at the right)
    assert charts.final_label_sides(frame).to_dict() == {"p": "left"}


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


def test_save_chart_tells_the_html_reader_how_to_interact_and_not_the_png(frames, tmp_path):
    curves, results = frames
    chart = charts.speedup_chart(curves, results, "accuracy", 0.01, POLICIES)
    charts.save_chart(chart, tmp_path / "chart.html", tmp_path / "chart.png")
    page = (tmp_path / "chart.html").read_text(encoding="utf-8")
    body = page[page.rindex("<body>"):]
    assert body.index(charts.HIGHLIGHT_HINT) < body.index('id="vis"'), "the hint is page text above the chart"
    assert (tmp_path / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def losses(seed, values, panel="mlp / joint"):
    return pd.DataFrame({"step": range(1, len(values) + 1), "exit": 1, "loss": values, "panel": panel, "seed": seed})


def test_training_bands_average_the_seeds_with_their_range():
    curves = pd.concat([losses(0, [1.0, 2.0, 3.0]), losses(1, [3.0, 2.0, 1.0])], ignore_index=True)
    bands = training_bands(curves)  # 3 steps: a window of one step, nothing smoothed
    assert list(bands["loss"]) == [2.0, 2.0, 2.0]
    assert list(bands["loss_min"]) == [1.0, 2.0, 1.0] and list(bands["loss_max"]) == [3.0, 2.0, 3.0]
    assert set(bands["n_seeds"]) == {2} and set(bands["window"]) == {1}


def test_training_bands_smooth_each_seed_over_a_fiftieth_of_its_steps():
    noisy = [1.0, 3.0] * 100  # 200 steps: a window of 4, which averages the alternation away
    bands = training_bands(losses(0, noisy))
    assert set(bands["window"]) == {4}
    assert bands["loss"].iloc[10:-10].to_numpy() == pytest.approx(2.0)


def test_a_full_data_run_is_thinned_to_a_drawable_curve_per_exit():
    """SST-2 on all of its data logs 1,895 steps per run: 6 exits × 2 models would be 22,740 points, more than
    a chart needs; each smoothed curve keeps TRAINING_POINTS evenly spaced steps and its last."""
    runs = [losses(seed, np.linspace(1.0, 0.1, 1895), panel).assign(exit=exit_)
            for seed in (0, 1) for panel in ("a / joint", "b / joint") for exit_ in range(1, 7)]
    bands = training_bands(pd.concat(runs, ignore_index=True))
    per_curve = bands.groupby(["panel", "exit"])["step"]
    assert set(per_curve.size()) == {TRAINING_POINTS} and set(per_curve.max()) == {1895}
    assert set(per_curve.min()) == {1}
    training_chart(pd.concat(runs, ignore_index=True)).to_dict()


def test_a_large_grid_draws_its_training_chart_past_altairs_row_limit():
    """12 exits × 8 models × TRAINING_POINTS = 19,200 rows even when thinned: more than altair's default 5,000, which
    would stop the aggregate (MaxRowsError); the report lifts that limit."""
    runs = [losses(0, np.linspace(1.0, 0.1, 1000), f"m{model} / joint").assign(exit=exit_)
            for model in range(8) for exit_ in range(1, 13)]
    spec = training_chart(pd.concat(runs, ignore_index=True)).to_dict()
    assert sum(len(rows) for rows in spec["datasets"].values()) >= 12 * 8 * TRAINING_POINTS


def test_training_chart_draws_a_band_and_a_mean_line_per_exit():
    curves = pd.concat([losses(0, [1.0, 0.5, 0.25]), losses(1, [1.2, 0.6, 0.3])], ignore_index=True)
    spec = training_chart(curves).to_dict()
    marks = {layer["mark"]["type"]: layer["encoding"] for layer in spec["spec"]["layer"]}
    assert marks["line"]["y"]["field"] == "loss" and marks["line"]["color"]["field"] == "exit"
    assert marks["area"]["y"]["field"] == "loss_min" and marks["area"]["y2"]["field"] == "loss_max"
    fields = {channel.get("field") for name, channel in marks["line"].items() if name != "tooltip"}
    assert fields == {"step", "loss", "exit"}, "one line per exit, not per seed × exit"
    assert "mean over seeds 0, 1" in json.dumps(spec["title"])
