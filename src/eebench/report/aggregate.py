"""Paper-style tables and speed-up/metric charts of one task, from the per-cell results of every run.

Tables: one row per backbone × strategy × policy, each figure as mean and std over seeds (CSV with numbers,
Markdown with "mean ± std"); the task's data summary; each run's assumption checks. Charts (altair): one curve per
policy and seed with the fitted point of each policy marked, one panel per backbone × strategy; and the training
loss of every exit. Charts are saved as self-contained HTML (the Vega scripts inlined, so they render offline) and
as PNG."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from ..errors import DataError
from ..io import atomic_path, read_json, write_text
from ..layout import PLOTS, TABLES, parse_cell, parse_run
from ..metrics.checks import checks_row
from ..policies.stages import outcome_row

FIGURES = ["metric", "layer_speedup", "flops_speedup", "mean_exit_layer"]
HINDSIGHT = " · best fixed in hindsight"  # suffix of the row an online policy's best fixed knob in hindsight gets


def collect_results(test_paths: list[Path]) -> pd.DataFrame:
    """One row per run × policy with the test figures of its fitted knob; an online policy that reports the best
    fixed threshold in hindsight (ucb) adds that as a row of its own, for the regret-free comparison."""
    rows = []
    for path in test_paths:
        result = read_json(path)
        cell = parse_cell(path)
        rows.append({**cell, **outcome_row(result, path)})
        if "best_fixed_in_hindsight" in result:
            hindsight = {**cell, "policy": cell["policy"] + HINDSIGHT}
            rows.append({**hindsight, **outcome_row(result["best_fixed_in_hindsight"], path)})
    return pd.DataFrame(rows)


def collect_curves(curve_paths: list[Path]) -> pd.DataFrame:
    frames = []
    for path in curve_paths:
        if not Path(path).is_file():
            raise DataError(f"'{path}': file not found")
        frame = pd.read_csv(path).drop(columns=["metric"]).rename(columns={"primary": "metric"})
        frames.append(frame.assign(**parse_cell(path)))
    return pd.concat(frames, ignore_index=True)


def summary_table(results: pd.DataFrame, policy_order: list[str]) -> pd.DataFrame:
    """Mean and std over seeds of every figure, one row per backbone × strategy × policy (policies in the order
    given, runs in the order of their results)."""
    keys = ["backbone", "strategy", "policy"]
    ordered = [name for policy in policy_order for name in (policy, policy + HINDSIGHT)]
    rank = {policy: index for index, policy in enumerate(ordered)}
    results = results.sort_values("policy", key=lambda column: column.map(rank), kind="stable")
    results = results.sort_values(["backbone", "strategy"], key=_first_seen, kind="stable")
    grouped = results.groupby(keys, sort=False)[FIGURES]
    table = grouped.mean().add_suffix("_mean").join(grouped.std(ddof=0).add_suffix("_std"))
    table["n_seeds"] = results.groupby(keys, sort=False)["seed"].nunique()
    ordered = [f"{name}_{stat}" for name in FIGURES for stat in ("mean", "std")]
    return table[ordered + ["n_seeds"]].reset_index()


def with_skipped(table: pd.DataFrame, skipped: list[dict], policy_order: list[str]) -> pd.DataFrame:
    """The summary table with a `note` column and a row, without figures, for each policy left out of the grid
    (after its backbone × strategy's rows, in policy order), so the tables say why a policy has no result."""
    if not skipped:
        return table
    left_out = pd.DataFrame([{**row, "n_seeds": 0, "note": f"left out: {row['reason']}"} for row in skipped])
    merged = pd.concat([table.assign(note=""), left_out.drop(columns="reason")], ignore_index=True)
    rank = {policy: index for index, policy in enumerate(policy_order)}
    merged = merged.sort_values("policy", key=lambda column: column.str.removesuffix(HINDSIGHT).map(rank),
                                kind="stable")
    return merged.sort_values(["backbone", "strategy"], key=_first_seen, kind="stable").reset_index(drop=True)


def _first_seen(column: pd.Series) -> pd.Series:
    """Sort key that keeps values in the order they first appear."""
    return column.map({value: index for index, value in enumerate(dict.fromkeys(column))})


def markdown_table(table: pd.DataFrame, metric_name: str) -> str:
    headers = {
        "metric": metric_name,
        "layer_speedup": "layer speed-up",
        "flops_speedup": "FLOPs speed-up",
        "mean_exit_layer": "mean exit layer",
    }
    shown = table[["backbone", "strategy", "policy"]].copy()
    for name, header in headers.items():
        shown[header] = [
            "–" if pd.isna(mean) else f"{mean:.4f} ± {std:.4f}" if name == "metric" else f"{mean:.2f} ± {std:.2f}"
            for mean, std in zip(table[f"{name}_mean"], table[f"{name}_std"])
        ]
    shown["seeds"] = table["n_seeds"]
    if "note" in table:
        shown["note"] = table["note"]
    return shown.to_markdown(index=False)


def speedup_chart(curves: pd.DataFrame, results: pd.DataFrame, metric_name: str):
    import altair as alt

    curves = curves.assign(panel=curves["backbone"] + " / " + curves["strategy"])
    points = results.assign(panel=results["backbone"] + " / " + results["strategy"])
    fitted = points.groupby(["panel", "policy"], sort=False)[["metric", "layer_speedup"]].mean().reset_index()
    x = alt.X("layer_speedup:Q", title="layer speed-up", scale=alt.Scale(zero=False))
    y = alt.Y("metric:Q", title=f"test {metric_name}", scale=alt.Scale(zero=False))
    color = alt.Color("policy:N", title="policy", scale=alt.Scale(scheme="tableau20"), sort=None)
    lines = (
        alt.Chart(curves)
        .mark_line(point=alt.OverlayMarkDef(size=12), opacity=0.6)
        .encode(x=x, y=y, color=color, detail="seed:N", order="layer_speedup:Q",
                tooltip=["policy", "seed", "knob", "knob_value", "metric", "layer_speedup"])
    )
    marks = (
        alt.Chart(fitted)
        .mark_point(filled=True, size=140, stroke="black", strokeWidth=1)
        .encode(x=x, y=y, color=color, tooltip=["policy", "metric", "layer_speedup"])
    )
    return _facet(lines, marks, sorted(curves["panel"].unique()))


def _facet(lines, marks, panels: list[str]):
    """One layered chart per panel, side by side (a layered chart with two data sets cannot be faceted)."""
    import altair as alt

    charts = [
        alt.layer(
            lines.transform_filter(alt.datum.panel == panel), marks.transform_filter(alt.datum.panel == panel)
        ).properties(width=320, height=260, title=panel)
        for panel in panels
    ]
    return alt.concat(*charts, columns=2).resolve_scale(color="shared")


def data_summary(info: dict) -> pd.DataFrame:
    """One row per split: size, label distribution and mean length (tokens) or image shape, from info.json."""
    rows = []
    for split, stats in info["splits"].items():
        row = {"split": split, "size": stats["size"]}
        row.update({f"label {label}": count for label, count in stats["label_distribution"].items()})
        if "mean_tokens" in stats:
            row["mean tokens"] = round(stats["mean_tokens"], 2)
        if "image_shape" in stats:
            row["image shape"] = "×".join(map(str, stats["image_shape"]))
        rows.append(row)
    return pd.DataFrame(rows)


def checks_table(check_paths: list[Path]) -> pd.DataFrame:
    """One row per run: error of every exit on test, BEEM's monotonicity assumption and, for classification,
    ECE and the sample categories (metrics.checks.checks_row reads each file)."""
    rows = []
    for path in check_paths:
        run = parse_run(path)
        rows.append({**{key: run[key] for key in ("backbone", "strategy", "seed")}, **checks_row(read_json(path))})
    return pd.DataFrame(rows)


LATENCY_COLUMNS = [
    "backbone", "strategy", "seed", "policy", "batch_size", "wall_clock_speedup", "layer_speedup",
    "early_exit_samples_per_second", "full_depth_samples_per_second", "decisions_match_simulation", "device",
]


def latency_table(latency_paths: list[Path]) -> pd.DataFrame:
    """Real early-exit timing: one row per run × policy × batch size (the config's latency.batch_sizes)."""
    rows = []
    for path in latency_paths:
        latency = read_json(path)
        cell = parse_cell(path)
        rows.extend({**cell, **timing, "device": latency["device"]} for timing in latency["timings"])
    return pd.DataFrame(rows, columns=LATENCY_COLUMNS)


def training_curves(model_dirs: list[Path]) -> pd.DataFrame:
    """Loss of every exit against the step, from each run's train_log.jsonl."""
    frames = []
    for model_dir in model_dirs:
        log = pd.read_json(Path(model_dir) / "train_log.jsonl", lines=True)
        losses = pd.DataFrame(log["loss_per_exit"].tolist(), index=log.index)
        long = losses.assign(step=log["step"]).melt(id_vars="step", var_name="exit", value_name="loss")
        run = parse_run(model_dir)
        long["exit"] = long["exit"] + 1
        frames.append(long.assign(panel=f"{run['backbone']} / {run['strategy']}", seed=run["seed"]))
    return pd.concat(frames, ignore_index=True).dropna(subset=["loss"])


def training_chart(curves: pd.DataFrame):
    import altair as alt

    return (
        alt.Chart(curves)
        .mark_line(opacity=0.7)
        .encode(
            x=alt.X("step:Q"),
            y=alt.Y("loss:Q", title="training loss", scale=alt.Scale(type="log")),
            color=alt.Color("exit:O", scale=alt.Scale(scheme="viridis")),
            strokeDash=alt.StrokeDash("seed:N"),
        )
        .properties(width=320, height=220)
        .facet(facet=alt.Facet("panel:N", title=None), columns=2)
    )


def _save_chart(chart, html_path: Path, png_path: Path) -> None:
    with atomic_path(html_path) as tmp:
        chart.save(str(tmp), format="html", inline=True)
    with atomic_path(png_path) as tmp:
        chart.save(str(tmp), format="png", scale_factor=1.5)


def aggregate_task(
    task: str,
    policies: list[str],
    test_paths: list[Path],
    curve_paths: list[Path],
    check_paths: list[Path],
    model_dirs: list[Path],
    data_dir: Path,
    out_dir: Path,
    latency_paths: list[Path] = (),
    skipped: list[dict] = (),
) -> None:
    """Tables and charts of `task` from its cells' files, rows in the order of `policies`; `skipped` lists the
    policies left out of the grid (backbone, strategy, policy, reason), shown as rows with the reason."""
    results = collect_results(test_paths)
    if results.empty or set(results["task"]) != {task}:
        raise DataError(f"task {task!r}: the given results belong to tasks {sorted(set(results.get('task', [])))}")
    metric_name = str(results["metric_name"].iloc[0])
    unknown = sorted(set(results["policy"].str.removesuffix(HINDSIGHT)) - set(policies))
    if unknown:
        raise DataError(f"task {task!r}: results of policies {unknown} that --policies does not list ({policies})")
    table = with_skipped(summary_table(results, policies), list(skipped), policies)
    data = data_summary(read_json(Path(data_dir) / "info.json"))
    checks = checks_table(check_paths)
    latency = latency_table(list(latency_paths))

    out = {name: Path(out_dir) / template.format(task=task) for name, template in {**TABLES, **PLOTS}.items()}
    _write_csv(table, out["table"])
    _write_csv(data, out["data"])
    _write_csv(checks, out["checks"])
    _write_csv(latency, out["latency"])
    latency_section = f"\n## Real early-exit latency\n\n{latency.to_markdown(index=False)}\n" if len(latency) else ""
    write_text(
        out["markdown"],
        f"# {task}\n\n## Exit policies on test\n\n{markdown_table(table, metric_name)}\n\n"
        f"## Data\n\n{data.to_markdown(index=False)}\n\n## Checks per run\n\n{checks.to_markdown(index=False)}\n"
        + latency_section,
    )
    chart = speedup_chart(collect_curves(curve_paths), results, metric_name)
    _save_chart(chart, out["chart"], out["image"])
    losses = training_chart(training_curves(model_dirs))
    _save_chart(losses, out["training"], out["training_image"])


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, float_format="%.6g", quoting=csv.QUOTE_MINIMAL)
