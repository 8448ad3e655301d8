"""Paper-style tables and speed-up/metric charts of one task, from the per-cell results of every run.

Tables: one row per backbone × strategy × policy, each figure as mean and std over seeds (CSV with numbers,
Markdown with "mean ± std"). Charts (altair): one curve per policy and seed, the fitted point of each policy
marked, one panel per backbone × strategy; saved as self-contained HTML (the Vega scripts inlined, so it renders
offline) and as a PNG."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from ..errors import DataError
from ..io import atomic_path, read_json, write_text

FIGURES = ["metric", "layer_speedup", "flops_speedup", "mean_exit_layer"]


def _parse_run(run: str) -> dict:
    parts = run.split("/")
    if len(parts) != 4 or not parts[3].startswith("seed"):
        raise DataError(f"run path {run!r}: expected {{task}}/{{backbone}}/{{strategy}}/seed{{seed}}")
    return {"task": parts[0], "backbone": parts[1], "strategy": parts[2], "seed": int(parts[3][4:])}


def collect_results(results_dir: Path, runs: list[str], policies: list[str]) -> pd.DataFrame:
    """One row per run × policy with the test figures of its fitted knob."""
    rows = []
    for run in runs:
        for policy in policies:
            path = results_dir / "runs" / run / "policies" / policy / "test.json"
            result = read_json(path)
            row = {**_parse_run(run), "policy": policy, "method": result.get("policy", policy)}
            missing = [name for name in ("metric", "layer_speedup", "mean_exit_layer") if name not in result]
            if missing:
                raise DataError(f"'{path}': missing fields {missing}")
            row.update({name: result.get(name, float("nan")) for name in FIGURES})
            row["metric_name"] = result.get("metric_name", "metric")
            rows.append(row)
    return pd.DataFrame(rows)


def collect_curves(results_dir: Path, runs: list[str], policies: list[str]) -> pd.DataFrame:
    frames = []
    for run in runs:
        for policy in policies:
            path = results_dir / "runs" / run / "policies" / policy / "curve.csv"
            if not path.is_file():
                raise DataError(f"'{path}': file not found")
            frame = pd.read_csv(path)
            for key, value in {**_parse_run(run), "policy": policy}.items():
                frame[key] = value
            frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def summary_table(results: pd.DataFrame) -> pd.DataFrame:
    """Mean and std over seeds of every figure, one row per backbone × strategy × policy (config order kept)."""
    keys = ["backbone", "strategy", "policy"]
    grouped = results.groupby(keys, sort=False)[FIGURES]
    table = grouped.mean().add_suffix("_mean").join(grouped.std(ddof=0).add_suffix("_std"))
    table["n_seeds"] = results.groupby(keys, sort=False)["seed"].nunique()
    ordered = [f"{name}_{stat}" for name in FIGURES for stat in ("mean", "std")]
    return table[ordered + ["n_seeds"]].reset_index()


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
    return shown.to_markdown(index=False)


def speedup_chart(curves: pd.DataFrame, results: pd.DataFrame, metric_name: str):
    import altair as alt

    curves = curves.assign(panel=curves["backbone"] + " / " + curves["strategy"])
    points = results.assign(panel=results["backbone"] + " / " + results["strategy"])
    fitted = points.groupby(["panel", "policy"], sort=False)[["metric", "layer_speedup"]].mean().reset_index()
    x = alt.X("layer_speedup:Q", title="layer speed-up", scale=alt.Scale(zero=False))
    y = alt.Y("metric:Q", title=f"test {metric_name}", scale=alt.Scale(zero=False))
    color = alt.Color("policy:N", title="policy")
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


def _save_chart(chart, html_path: Path, png_path: Path) -> None:
    with atomic_path(html_path) as tmp:
        chart.save(str(tmp), format="html", inline=True)
    with atomic_path(png_path) as tmp:
        chart.save(str(tmp), format="png", scale_factor=1.5)


def aggregate_task(task: str, runs: list[str], policies: list[str], results_dir: Path, out_dir: Path) -> None:
    results_dir, out_dir = Path(results_dir), Path(out_dir)
    task_runs = [run for run in runs if _parse_run(run)["task"] == task]
    if not task_runs:
        raise DataError(f"task {task!r}: none of the given runs belongs to it ({runs})")
    results = collect_results(results_dir, task_runs, policies)
    curves = collect_curves(results_dir, task_runs, policies)
    metric_name = str(results["metric_name"].iloc[0])
    table = summary_table(results)

    tables, plots = out_dir / "tables", out_dir / "plots"
    with atomic_path(tables / f"{task}.csv") as tmp:
        table.to_csv(tmp, index=False, float_format="%.6g", quoting=csv.QUOTE_MINIMAL)
    write_text(tables / f"{task}.md", f"# {task}\n\n{markdown_table(table, metric_name)}\n")
    _save_chart(speedup_chart(curves, results, metric_name), plots / f"{task}.html", plots / f"{task}.png")
