"""Charts of one task (altair): the speed-up/metric chart, and one picture per check — exit-layer histograms,
reliability diagrams before/after temperature scaling, per-exit error with the monotonicity verdict, the survey's
sample categories, and PCEE's achieved accuracy against δ.

Policies are told apart by colour *and* shape (and dash after the first seven): the Okabe–Ito palette, which stays
distinct under the common colour-vision deficiencies. Clicking a policy in the legend highlights it (shift-click
adds more). Each run's figures are averaged over seeds; the spread over seeds is a band."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..io import atomic_path, read_json
from .aggregate import HINDSIGHT, parse_cell, parse_run
from .leaderboard import LIMIT, curve_function, limit_is_bound, metric_label, model_name

# Okabe & Ito (2008) without black, which the oracle's mark uses.
PALETTE = ["#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7", "#F0E442"]
SHAPES = ["circle", "square", "triangle-up", "diamond"]
DASHES = [[1, 0], [6, 3], [2, 2], [8, 3, 2, 3]]
REFERENCES = ("final", "static-k", "oracle")  # drawn as reference marks, not curves
PANEL_WIDTH, PANEL_HEIGHT = 360, 280
CURVE_GRID = 30  # speed-ups at which the seeds' sweeps are interpolated and averaged


def _alt():
    import altair as alt

    return alt


def policy_encodings(policies: list[str]) -> dict:
    """Colour, shape and dash scales that give every policy its own combination, in the order given."""
    alt = _alt()
    n = len(policies)
    colours = [PALETTE[i % len(PALETTE)] for i in range(n)]
    shapes = [SHAPES[(i // len(PALETTE)) % len(SHAPES)] for i in range(n)]
    dashes = [DASHES[(i // len(PALETTE)) % len(DASHES)] for i in range(n)]
    legend = alt.Legend(title="policy (click to highlight)", symbolStrokeWidth=2, labelLimit=220)
    return {
        "color": alt.Color("policy:N", scale=alt.Scale(domain=policies, range=colours), legend=legend),
        "shape": alt.Shape("policy:N", scale=alt.Scale(domain=policies, range=shapes), legend=legend),
        "strokeDash": alt.StrokeDash("policy:N", scale=alt.Scale(domain=policies, range=dashes), legend=legend),
    }


# ---- speed-up vs metric ---------------------------------------------------------------------------------------


def mean_curves(curves: pd.DataFrame) -> pd.DataFrame:
    """Per panel (model) and swept policy: the seeds' sweeps interpolated on a common speed-up grid (where all seeds
    reach), their mean and their min–max."""
    rows = []
    for (panel, policy), frame in curves.groupby(["panel", "policy"], sort=False):
        functions = [curve_function(points) for _, points in frame.groupby("seed")]
        low, high = max(f[0][0] for f in functions), min(f[0][-1] for f in functions)
        if not high > low:
            continue
        grid = np.linspace(low, high, CURVE_GRID)
        values = np.array([np.interp(grid, xs, ys) for xs, ys in functions])
        rows.extend(
            {"panel": panel, "policy": policy, "layer_speedup": x, "metric": m, "metric_min": lo, "metric_max": hi,
             "n_seeds": len(functions)}
            for x, m, lo, hi in zip(grid, values.mean(axis=0), values.min(axis=0), values.max(axis=0))
        )
    return pd.DataFrame(rows, columns=["panel", "policy", "layer_speedup", "metric", "metric_min", "metric_max",
                                       "n_seeds"])


def focus_domains(means: pd.DataFrame, fitted: pd.DataFrame, finals: pd.Series, oracle: pd.DataFrame,
                  tolerance: float) -> tuple[list[float], list[float]]:
    """Axis ranges where the methods operate: from a few tolerances below the final exit (or the lowest fitted
    point) to the best curve, and the speed-ups the curves reach inside that metric range (the oracle's mark is
    pinned inside, labelled with its figures)."""
    bottom = min([*(finals - 2 * tolerance), *fitted["metric"]])
    top = max([*means["metric"], *finals])
    span = (top - bottom) or 0.01
    inside = means[means["metric"] >= bottom]
    right = max([1.05, *inside["layer_speedup"], *fitted["layer_speedup"]])
    # headroom above the curves for the oracle's mark
    return [0.95, right * 1.05], [bottom - 0.05 * span, top + 0.2 * span]


def point_labels(points: pd.DataFrame, x_domain, y_domain, near_px: float = 9) -> pd.DataFrame:
    """One label per group of fitted points that (nearly) coincide on screen, naming all of them, so labels of
    methods that reach the same point do not print over each other."""
    per_x = PANEL_WIDTH / (x_domain[1] - x_domain[0])
    per_y = PANEL_HEIGHT / (y_domain[1] - y_domain[0])
    groups: list[dict] = []
    for panel, policy, speedup, metric in points[["panel", "policy", "layer_speedup", "metric"]].itertuples(index=False):
        for group in groups:
            if (group["panel"] == panel and abs(group["layer_speedup"] - speedup) * per_x < near_px
                    and abs(group["metric"] - metric) * per_y < near_px):
                group["text"] += f", {policy}"
                break
        else:
            groups.append({"panel": panel, "layer_speedup": speedup, "metric": metric, "text": policy})
    return pd.DataFrame(groups, columns=["panel", "layer_speedup", "metric", "text"])


def speedup_chart(curves: pd.DataFrame, results: pd.DataFrame, metric_name: str, tolerance: float,
                  policy_order: list[str]):
    """One panel per backbone / strategy: one curve per policy (mean over seeds, band = seed range), the fitted
    points labelled, the final exit and its tolerance as horizontal rules, static-k's exits and the oracle as marks."""
    alt = _alt()
    curves = curves.assign(panel=model_name(curves))
    results = results[~results["policy"].str.endswith(HINDSIGHT)].assign(panel=model_name(results))
    methods = [p for p in policy_order if p not in REFERENCES and p in set(results["policy"])]
    means = mean_curves(curves[curves["policy"].isin(methods)])
    fitted = results.groupby(["panel", "policy"], sort=False)[["metric", "layer_speedup"]].mean().reset_index()
    finals = fitted[fitted["policy"] == "final"].set_index("panel")["metric"]
    # the limit within the tolerance where the oracle computed it, else its earliest correct exit
    limit = LIMIT if (fitted["policy"] == LIMIT).any() else "oracle"
    oracle = fitted[fitted["policy"] == limit]
    static = (curves[curves["policy"] == "static-k"].groupby(["panel", "knob_value"])[["metric", "layer_speedup"]]
              .mean().reset_index())
    static["label"] = "k=" + static["knob_value"].astype(int).astype(str)
    fitted = fitted[fitted["policy"].isin(methods)]
    x_domain, y_domain = focus_domains(means, fitted, finals, oracle, tolerance)
    # for a metric that is no sum over samples (CIDEr-D over tokens) the least depth is a reference, not a bound
    shown = limit if limit != LIMIT or limit_is_bound(metric_name) else f"{limit} (no bound)"
    oracle = oracle.assign(
        label=[f"{shown}: {s:.2f}×, {m:.3f}" for s, m in zip(oracle["layer_speedup"], oracle["metric"])],
        metric=oracle["metric"].clip(upper=y_domain[1] - 0.05 * (y_domain[1] - y_domain[0])),
        layer_speedup=oracle["layer_speedup"].clip(upper=x_domain[1] - 0.04 * (x_domain[1] - x_domain[0])),
    )
    labelled = point_labels(fitted, x_domain, y_domain)
    x = alt.X("layer_speedup:Q", title="layer speed-up (×)", scale=alt.Scale(domain=x_domain, nice=False))
    y = alt.Y("metric:Q", title=f"test {metric_label(metric_name)}", scale=alt.Scale(domain=y_domain, nice=False))
    enc = policy_encodings(methods)
    pick = alt.selection_point(fields=["policy"], bind="legend", name="highlight")
    opacity = alt.when(pick).then(alt.value(1.0)).otherwise(alt.value(0.12))
    tooltip = ["policy:N", alt.Tooltip("layer_speedup:Q", format=".2f"), alt.Tooltip("metric:Q", format=".4f")]

    def panel_chart(panel: str):
        mine = alt.datum.panel == panel
        band = (alt.Chart(means).transform_filter(mine).mark_area(clip=True)
                .encode(x=x, y=alt.Y("metric_min:Q", scale=alt.Scale(domain=y_domain)), y2="metric_max:Q",
                        color=enc["color"],
                        # faint until a policy is picked: overlapping bands of many policies hide the lines
                        opacity=alt.when(pick, empty=False).then(alt.value(0.25)).otherwise(alt.value(0.06))))
        lines = (alt.Chart(means).transform_filter(mine).mark_line(clip=True, strokeWidth=2)
                 .encode(x=x, y=y, color=enc["color"], strokeDash=enc["strokeDash"], opacity=opacity,
                         order="layer_speedup:Q", tooltip=tooltip + ["n_seeds:Q"]))
        points = (alt.Chart(fitted).transform_filter(mine).mark_point(filled=True, size=110, stroke="black",
                                                                       strokeWidth=0.8, clip=True)
                  .encode(x=x, y=y, color=enc["color"], shape=enc["shape"], opacity=opacity, tooltip=tooltip))
        labels = (alt.Chart(labelled).transform_filter(mine)
                  .mark_text(align="left", dx=8, dy=-7, fontSize=10).encode(x=x, y=y, text="text:N"))
        references = _reference_marks(panel, finals, oracle, static, tolerance, x, y)
        # lines first: the first layer sets the legend's symbols (a legend switched off in any layer, e.g. the
        # band's, switches off the merged legend)
        return (alt.layer(lines, band, points, labels, *references)
                .properties(width=PANEL_WIDTH, height=PANEL_HEIGHT, title=panel))

    panels = list(dict.fromkeys(results["panel"]))
    charts = [panel_chart(panel) for panel in panels]
    charts[0] = charts[0].add_params(pick)
    return alt.concat(*charts, columns=2).resolve_scale(color="shared", shape="shared", strokeDash="shared")


def _reference_marks(panel, finals, oracle, static, tolerance, x, y) -> list:
    alt = _alt()
    marks = []
    if panel in finals.index:
        level = finals[panel]
        rules = pd.DataFrame({"metric": [level, level - tolerance],
                              "label": ["final exit", f"final − {tolerance:g} (tolerance)"]})
        rule = alt.Chart(rules).mark_rule(color="#555", strokeDash=[5, 4]).encode(y=y)
        text = (alt.Chart(rules).mark_text(align="right", baseline="bottom", dy=-2, color="#555", fontSize=10)
                .encode(y=y, x=alt.value(PANEL_WIDTH - 2), text="label:N"))
        marks += [rule, text]
    mine = static[static["panel"] == panel]
    if len(mine):
        marks.append(alt.Chart(mine).mark_point(shape="square", size=50, color="#777", filled=False, clip=True)
                     .encode(x=x, y=y, tooltip=["label:N", "metric:Q", "layer_speedup:Q"]))
        marks.append(alt.Chart(mine).mark_text(dy=12, fontSize=9, color="#777", clip=True)
                     .encode(x=x, y=y, text="label:N"))
    limit = oracle[oracle["panel"] == panel]
    if len(limit):
        marks.append(alt.Chart(limit).mark_point(shape="cross", size=160, color="black", filled=True, clip=True)
                     .encode(x=x, y=y, tooltip=["policy:N", "metric:Q", "layer_speedup:Q"]))
        marks.append(alt.Chart(limit).mark_text(align="right", dx=-9, dy=8, fontSize=10, fontWeight="bold")
                     .encode(x=x, y=y, text="label:N"))
    return marks


# ---- exit layers ----------------------------------------------------------------------------------------------


def exit_histograms(test_paths: list[Path]) -> pd.DataFrame:
    """Share of test samples (a caption task: generated tokens) exiting at each exit, per model and policy (seeds
    pooled), from test.json's exit_histogram."""
    rows = []
    for path in test_paths:
        cell = parse_cell(path)
        counts = read_json(path).get("exit_histogram")
        if counts:
            rows += [{"panel": f"{cell['backbone']} / {cell['strategy']}", "policy": cell["policy"],
                      "exit": i + 1, "count": c} for i, c in enumerate(counts)]
    frame = pd.DataFrame(rows, columns=["panel", "policy", "exit", "count"])
    frame = frame.groupby(["panel", "policy", "exit"], sort=False)["count"].sum().reset_index()
    frame["share"] = frame["count"] / frame.groupby(["panel", "policy"])["count"].transform("sum")
    return frame


def exit_histogram_chart(histograms: pd.DataFrame, policy_order: list[str], unit: str = "samples"):
    """One small panel per policy: the share of test `unit` (samples, or a caption task's tokens) at each exit."""
    alt = _alt()
    policies = [p for p in policy_order if p in set(histograms["policy"])]
    several = histograms["panel"].nunique() > 1
    bars = alt.Chart(histograms).mark_bar().encode(
        x=alt.X("exit:O", title="exit layer", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("share:Q", title=f"share of test {unit}", axis=alt.Axis(format="%")),
        color=alt.Color("panel:N", title="model", scale=alt.Scale(range=PALETTE)),
        tooltip=["panel:N", "policy:N", "exit:O", "count:Q", alt.Tooltip("share:Q", format=".1%")],
        **({"xOffset": "panel:N"} if several else {}),
    )
    return bars.properties(width=150, height=100).facet(
        facet=alt.Facet("policy:N", sort=policies, title=None), columns=4
    )


# ---- checks -----------------------------------------------------------------------------------------------------


def read_checks(check_paths: list[Path]) -> list[tuple[dict, dict]]:
    return [(parse_run(path), read_json(path)) for path in check_paths]


def _panel(run: dict) -> str:
    return f"{run['backbone']} / {run['strategy']}"


def notice_chart(text: str):
    """A chart that only says why there is nothing to draw (e.g. calibration of a regression task)."""
    alt = _alt()
    return (alt.Chart(pd.DataFrame({"text": [text]})).mark_text(fontSize=14, color="#555")
            .encode(text="text:N").properties(width=420, height=60))


def reliability_frame(checks: list[tuple[dict, dict]]) -> pd.DataFrame:
    """Reliability bins per model, exit and scaling (before / after temperature scaling), pooled over seeds
    (count-weighted), with each exit's mean ECE."""
    rows = []
    for run, report in checks:
        for scaling, key in (("before", "calibration"), ("after temperature scaling", "calibration_scaled")):
            test = report.get(key, {}).get("test")
            if not test:
                continue
            for exit_index, (diagram, ece) in enumerate(zip(test["reliability"], test["ece"]), 1):
                for count, confidence, accuracy in zip(diagram["count"], diagram["confidence"], diagram["accuracy"]):
                    if count:
                        rows.append({"panel": _panel(run), "seed": run["seed"], "exit": exit_index, "scaling": scaling,
                                     "count": count, "confidence": confidence, "accuracy": accuracy, "ece": ece})
    frame = pd.DataFrame(rows, columns=["panel", "seed", "exit", "scaling", "count", "confidence", "accuracy", "ece"])
    if frame.empty:
        return frame
    frame["bin"] = (frame["confidence"] * 10).clip(upper=9.999).astype(int)
    keys = ["panel", "exit", "scaling", "bin"]
    weighted = frame.assign(confidence=frame["confidence"] * frame["count"],
                            accuracy=frame["accuracy"] * frame["count"])
    pooled = weighted.groupby(keys)[["count", "confidence", "accuracy"]].sum().reset_index()
    pooled[["confidence", "accuracy"]] = pooled[["confidence", "accuracy"]].div(pooled["count"], axis=0)
    per_seed = frame.groupby(["panel", "exit", "scaling", "seed"])["ece"].first()
    ece = per_seed.groupby(["panel", "exit", "scaling"]).mean()
    return pooled.join(ece, on=["panel", "exit", "scaling"])


def reliability_chart(frame: pd.DataFrame):
    alt = _alt()
    if frame.empty:
        return notice_chart("no calibration in checks.json (regression outputs have no confidence)")
    scalings = ["before", "after temperature scaling"]
    colour = alt.Color("scaling:N", title="test, per exit",
                       scale=alt.Scale(domain=scalings, range=["#D55E00", "#0072B2"]))
    unit = alt.Scale(domain=[0, 1])
    diagonal = (alt.Chart().transform_aggregate(n="count()").mark_rule(color="#999", strokeDash=[4, 4])
                .encode(x=alt.datum(0), y=alt.datum(0), x2=alt.datum(1), y2=alt.datum(1)))
    curve = alt.Chart().mark_line(point=True).encode(
        x=alt.X("confidence:Q", title="mean confidence in bin", scale=unit),
        y=alt.Y("accuracy:Q", title="accuracy in bin", scale=unit),
        color=colour, order="confidence:Q",
        tooltip=["scaling:N", "exit:O", "count:Q", alt.Tooltip("confidence:Q", format=".3f"),
                 alt.Tooltip("accuracy:Q", format=".3f")],
    )
    ece = (alt.Chart().transform_aggregate(ece="mean(ece)", groupby=["scaling"])
           .transform_calculate(label="'ECE ' + format(datum.ece, '.3f')",
                                y="datum.scaling == 'before' ? 0.97 : 0.88")
           .mark_text(align="left", fontSize=10).encode(x=alt.datum(0.03), y=alt.Y("y:Q", scale=unit),
                                                        text="label:N", color=colour))
    return (alt.layer(diagonal, curve, ece, data=frame).properties(width=150, height=150)
            .facet(row=alt.Row("panel:N", title=None), column=alt.Column("exit:O", title="exit")))


def error_frame(checks: list[tuple[dict, dict]]) -> pd.DataFrame:
    """Error (or MAE) of every exit on val and test per run, and each model's monotonicity verdict on test."""
    rows, verdicts = [], {}
    for run, report in checks:
        for split in ("val", "test"):
            errors = report["errors"][split]
            name = "error_rate" if "error_rate" in errors else "mean_absolute_error"
            rows += [{"panel": _panel(run), "seed": f"seed{run['seed']}", "split": split, "exit": i + 1, "error": e,
                      "measure": _measure(name, report)} for i, e in enumerate(errors[name])]
        test = report["errors"]["test"]
        verdicts.setdefault(_panel(run), []).append(f"seed{run['seed']}: {monotonicity_verdict(test)}")
    frame = pd.DataFrame(rows)
    frame["title"] = frame["panel"].map(lambda p: f"{p} — test error {'; '.join(verdicts[p])}")
    return frame


def _measure(name: str, report: dict) -> str:
    """The error's axis title: a caption run's (checks.json `unit` "token") is the share of generated tokens where
    the exit's token differs from the full model's."""
    if report.get("unit") == "token":
        return "token error (≠ full model's token)"
    return name.replace("_", " ")


def monotonicity_verdict(errors: dict) -> str:
    """'monotone', or the significant rises with their sizes (in points); rises too small to count are counted."""
    rises = errors.get("rises", [])
    flagged = [r for r in rises if r.get("significant", True)]
    text = ("monotone" if errors["monotone_decreasing"] else
            "rises at " + ", ".join(f"exit {r['exit']} (+{100 * r['size']:.1f} pts)" for r in flagged)
            if flagged else f"rises at exits {errors.get('rises_at_exits')}")
    unflagged = len(rises) - len(flagged)
    return text + (f", {unflagged} rise{'s' * (unflagged > 1)} not significant" if unflagged else "")


def error_chart(frame: pd.DataFrame):
    alt = _alt()
    base = alt.Chart().encode(
        x=alt.X("exit:O", title="exit", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("error:Q", title=frame["measure"].iloc[0], scale=alt.Scale(zero=False)),
        color=alt.Color("split:N", scale=alt.Scale(domain=["val", "test"], range=["#56B4E9", "#D55E00"])),
        detail="seed:N",
        tooltip=["panel:N", "seed:N", "split:N", "exit:O", alt.Tooltip("error:Q", format=".4f")],
    )
    # lines and points as separate layers: a line overlaid with points gets a legend of invisible dash symbols
    lines = base.mark_line().encode(strokeDash=alt.StrokeDash("seed:N", legend=alt.Legend(symbolStrokeColor="#333")))
    return (
        alt.layer(lines, base.mark_point(filled=True, size=30), data=frame)
        .properties(width=PANEL_WIDTH, height=200)
        .facet(facet=alt.Facet("title:N", title=None, header=alt.Header(labelLimit=600)), columns=2)
    )


CATEGORIES = ["confident", "confused", "fake_confident"]


def category_frame(checks: list[tuple[dict, dict]]) -> pd.DataFrame:
    rows = []
    for run, report in checks:
        categories = report.get("categories")
        if not categories:
            continue
        label = f"{_panel(run)} · seed{run['seed']} (overthinking {categories['overthinking_share']:.1%})"
        rows += [{"run": label, "category": name.replace("_", "-"), "order": CATEGORIES.index(name),
                  "share": categories["shares"][name], "threshold": categories.get("confidence_threshold"),
                  "unit": "tokens" if report.get("unit") == "token" else "samples"}
                 for name in CATEGORIES]
    return pd.DataFrame(rows)


def category_chart(frame: pd.DataFrame):
    alt = _alt()
    if frame.empty:
        return notice_chart("no sample categories in checks.json (regression outputs have no confidence)")
    threshold = frame["threshold"].iloc[0]
    unit = frame["unit"].iloc[0] if "unit" in frame else "samples"
    return (
        alt.Chart(frame).mark_bar()
        .encode(y=alt.Y("run:N", title=None, axis=alt.Axis(labelLimit=400)),
                x=alt.X("share:Q",
                        title=f"share of test {unit} (confident = max prob ≥ {threshold:g} at an early exit)",
                        axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
                color=alt.Color("category:N", sort=[c.replace("_", "-") for c in CATEGORIES],
                                scale=alt.Scale(range=["#009E73", "#999999", "#D55E00"])),
                order="order:Q",
                tooltip=["run:N", "category:N", alt.Tooltip("share:Q", format=".1%")])
        .properties(width=460)
    )


def pcee_frame(checks: list[tuple[dict, dict]]) -> pd.DataFrame:
    rows = []
    for run, report in checks:
        final_error = report["errors"]["test"].get("error_rate", [None])[-1]
        for target in report.get("pcee_targets", []):
            status = target.get("status") or ("holds" if target["holds"] else "fails")
            rows.append({"panel": _panel(run), "seed": f"seed{run['seed']}", "delta": target["delta"],
                         "accuracy": target["test_accuracy"], "holds": status,
                         "final_accuracy": None if final_error is None else 1 - final_error})
    return pd.DataFrame(rows)


def pcee_chart(frame: pd.DataFrame):
    alt = _alt()
    if frame.empty:
        return notice_chart("no PCEE targets in checks.json (regression outputs have no confidence; a caption "
                            "task's δ would be on tokens, not on its metric)")
    low = float(min(frame["delta"].min(), frame["accuracy"].min())) - 0.02
    scale = alt.Scale(domain=[low, 1.0], nice=False)
    colour = alt.Color("panel:N", title="model", scale=alt.Scale(range=PALETTE))
    diagonal = (alt.Chart(pd.DataFrame({"v": [low, 1.0]})).mark_line(color="#999", strokeDash=[4, 4])
                .encode(x=alt.X("v:Q", scale=scale), y=alt.Y("v:Q", scale=scale)))
    lines = alt.Chart(frame).mark_line().encode(
        x=alt.X("delta:Q", title="accuracy target δ", scale=scale),
        y=alt.Y("accuracy:Q", title="achieved test accuracy", scale=scale),
        color=colour, strokeDash=alt.StrokeDash("seed:N"), detail="seed:N")
    points = alt.Chart(frame).mark_point(size=60, filled=True).encode(
        x="delta:Q", y="accuracy:Q", color=colour,
        shape=alt.Shape("holds:N", title="accuracy ≥ δ",
                        scale=alt.Scale(domain=["holds", "fails", "unattainable"],
                                        range=["circle", "cross", "triangle-up"])),
        tooltip=["panel:N", "seed:N", "delta:Q", alt.Tooltip("accuracy:Q", format=".4f"), "holds:N"])
    finals = frame.groupby("panel")["final_accuracy"].mean().reset_index().dropna()
    final = alt.Chart(finals).mark_rule(strokeDash=[2, 3]).encode(y="final_accuracy:Q", color=colour,
                                                                  tooltip=["panel:N", "final_accuracy:Q"])
    return alt.layer(diagonal, final, lines, points).properties(width=420, height=340)


CHECK_CHARTS = {  # layout.PLOTS name of the chart page (its picture: name + "_image") -> (data from checks.json, chart)
    "reliability": (reliability_frame, reliability_chart),
    "errors": (error_frame, error_chart),
    "categories": (category_frame, category_chart),
    "pcee": (pcee_frame, pcee_chart),
}


def write_check_charts(check_paths: list[Path], out: dict[str, Path]) -> None:
    """Every check picture, page and PNG, at the paths `out` gives by layout.PLOTS name."""
    checks = read_checks(check_paths)
    for name, (frame, chart) in CHECK_CHARTS.items():
        save_chart(chart(frame(checks)), out[name], out[f"{name}_image"])


def save_chart(chart, page: Path, image: Path) -> None:
    """The chart as a self-contained HTML page (the Vega scripts inlined, so it renders offline; drawn as SVG, so
    marks and legend entries are elements a browser test can find) and as a PNG (vl-convert)."""
    with atomic_path(page) as tmp:
        chart.save(str(tmp), format="html", inline=True, embed_options={"renderer": "svg"})
    with atomic_path(image) as tmp:
        chart.save(str(tmp), format="png", scale_factor=1.5)
