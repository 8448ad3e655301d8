"""Paper-style tables and speed-up/metric charts of one task, from the per-cell results of every run.

Tables: the leaderboard (leaderboard.py); one row per backbone × strategy × policy, each figure as mean and std over
seeds (CSV with numbers, Markdown with "mean ± std"); the task's data summary; each run's assumption checks. Charts
(charts.py): the speed-up/metric chart, the exit-layer histograms, the check pictures, and the training loss of every
exit. Charts are saved as self-contained HTML (the Vega scripts inlined, so they render offline) and as PNG."""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError
from ..io import atomic_path, read_json, write_text
from ..layout import PLOTS, TABLES, parse_cell, parse_run
from ..metrics.checks import checks_row
from ..policies.stages import DOMAIN_SEPARATOR, LIMIT_FIELD, SAMPLES_FIELD, outcome_row
from ..captioning.data import MODALITY as CAPTION_MODALITY

FIGURES = ["metric", "layer_speedup", "flops_speedup", "mean_exit_layer"]
HINDSIGHT = " · best fixed in hindsight"  # suffix of the row an online policy's best fixed knob in hindsight gets
WITHIN_TOLERANCE = " · least depth within tolerance"  # suffix of the oracle's limit row (the leaderboard's limit)
# Records a test.json may hold besides the fitted knob's outcome, each shown as a row of its own.
EXTRA_ROWS = {"best_fixed_in_hindsight": HINDSIGHT, LIMIT_FIELD: WITHIN_TOLERANCE}


def cell_records(test_paths: list[Path]) -> list[tuple[Path, dict, str, dict]]:
    """(path, cell, row's policy name, outcome record) of every outcome the test.json files hold, each file read
    once: the fitted knob's, then an online policy's best fixed threshold in hindsight (ucb) and the oracle's
    least depth within the tolerance (the leaderboard's limit), each a row of its own."""
    records = []
    for path in test_paths:
        result = read_json(path)
        cell = parse_cell(path)
        records.append((path, cell, cell["policy"], result))
        records += [(path, cell, cell["policy"] + suffix, result[field])
                    for field, suffix in EXTRA_ROWS.items() if field in result]
    return records


def collect_results(test_paths: list[Path]) -> pd.DataFrame:
    return results_frame(cell_records(test_paths))


def results_frame(records: list[tuple[Path, dict, str, dict]]) -> pd.DataFrame:
    """One row per run × policy (and extra row) of `cell_records`, with its test figures."""
    return pd.DataFrame([{**cell, "policy": policy, **_figures(outcome_row(record, path))}
                         for path, cell, policy, record in records])


def _figures(row: dict) -> dict:
    """An outcome row's figures as numbers: a metric not computed (null, e.g. a caption task's SPICE without its
    models) is NaN, and the text saying why (`{name}_missing`) stays in test.json, out of the numeric tables."""
    return {name: (math.nan if value is None else value) for name, value in row.items()
            if name == "metric_name" or not isinstance(value, str)}


def base_policy(row_policy: str) -> str:
    """The policy a results row belongs to (an extra row's name without its suffix)."""
    for suffix in EXTRA_ROWS.values():
        row_policy = row_policy.removesuffix(suffix)
    return row_policy


PER_IMAGE = ("image_scores",)  # samples lists of a sequence task with one entry per image, not per token


def collect_samples(records: list[tuple[Path, dict, str, dict]]) -> dict[tuple, dict[str, np.ndarray]]:
    """Every sample's exit layer, prediction and label per (backbone, strategy, seed, policy) — the policy named
    as in `collect_results`' rows — with `n_exits`, from `cell_records`; outcomes written before test.json held
    samples are left out. A sequence task's samples (captions) are tokens with their image's `sample_id`, plus
    `image_scores`, one per image."""
    samples = {}
    for path, cell, policy, record in records:
        if SAMPLES_FIELD not in record:
            continue
        arrays = {name: np.asarray(values) for name, values in record[SAMPLES_FIELD].items()}
        per_token = {name: values for name, values in arrays.items() if name not in PER_IMAGE}
        if len({len(values) for values in per_token.values()}) != 1 or "exit_layer" not in arrays:
            raise DataError(f"'{path}', field '{SAMPLES_FIELD}': expected exit_layer, prediction and label "
                            f"lists of one length")
        if ("image_scores" in arrays) != ("sample_id" in arrays):
            raise DataError(f"'{path}', field '{SAMPLES_FIELD}': a sequence task's samples need both sample_id "
                            f"(per token) and image_scores (per image); found only "
                            f"{'image_scores' if 'image_scores' in arrays else 'sample_id'}")
        arrays["n_exits"] = len(record["exit_histogram"])
        if "tolerance" in record:  # the limit's: what it was computed for
            arrays["tolerance"] = float(record["tolerance"])
        samples[(cell["backbone"], cell["strategy"], cell["seed"], policy)] = arrays
    return samples


def is_sequence_task(records: list[tuple[Path, dict, str, dict]], info: dict | None = None) -> bool:
    """Whether the task's unit of an exit decision is a generated token (a caption task): its info.json says so,
    or its test.json samples carry each token's image."""
    if info and (info.get("kind") == "captioning" or info.get("modality") == CAPTION_MODALITY):
        return True
    return any("sample_id" in record.get(SAMPLES_FIELD, {}) for _, _, _, record in records)


def figure_columns(results: pd.DataFrame) -> list[str]:
    """FIGURES, then every other numeric figure of the rows (secondary metrics, per-domain figures) in order."""
    fixed = {"task", "backbone", "strategy", "seed", "policy", "metric_name", *FIGURES}
    return FIGURES + [name for name in results.columns if name not in fixed]


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
    ordered = [policy + suffix for policy in policy_order for suffix in ("", *EXTRA_ROWS.values())]
    rank = {policy: index for index, policy in enumerate(ordered)}
    results = results.sort_values("policy", key=lambda column: column.map(rank), kind="stable")
    results = results.sort_values(["backbone", "strategy"], key=_first_seen, kind="stable")
    figures = figure_columns(results)
    grouped = results.groupby(keys, sort=False)[figures]
    table = grouped.mean().add_suffix("_mean").join(grouped.std(ddof=0).add_suffix("_std"))
    table["n_seeds"] = results.groupby(keys, sort=False)["seed"].nunique()
    ordered = [f"{name}_{stat}" for name in figures for stat in ("mean", "std")]
    return table[ordered + ["n_seeds"]].reset_index()


def with_skipped(table: pd.DataFrame, skipped: list[dict], policy_order: list[str]) -> pd.DataFrame:
    """The summary table with a `note` column and a row, without figures, for each policy left out of the grid
    (after its backbone × strategy's rows, in policy order), so the tables say why a policy has no result."""
    if not skipped:
        return table
    left_out = pd.DataFrame([{**row, "n_seeds": 0, "note": f"left out: {row['reason']}"} for row in skipped])
    merged = pd.concat([table.assign(note=""), left_out.drop(columns="reason")], ignore_index=True)
    rank = {policy: index for index, policy in enumerate(policy_order)}
    merged = merged.sort_values("policy", key=lambda column: column.map(base_policy).map(rank),
                                kind="stable")
    return merged.sort_values(["backbone", "strategy"], key=_first_seen, kind="stable").reset_index(drop=True)


def _first_seen(column: pd.Series) -> pd.Series:
    """Sort key that keeps values in the order they first appear."""
    return column.map({value: index for index, value in enumerate(dict.fromkeys(column))})


FIGURE_HEADERS = {"layer_speedup": "layer speed-up", "flops_speedup": "FLOPs speed-up", "mean_exit_layer": "mean exit layer"}


def _header(name: str, metric_name: str) -> str:
    from .leaderboard import metric_label

    domain, _, figure = name.rpartition(DOMAIN_SEPARATOR)
    shown = metric_label(metric_name) if figure == "metric" else FIGURE_HEADERS.get(figure, metric_label(figure))
    return f"{domain} {shown}" if domain else shown


def _is_metric(name: str) -> bool:
    return name.rpartition(DOMAIN_SEPARATOR)[2] not in FIGURE_HEADERS


def display_frame(table: pd.DataFrame, metric_name: str, domains: bool = False) -> pd.DataFrame:
    """The table as text cells, "mean ± std" over seeds (the mean alone for one seed); the per-domain figures
    (`domains=True`) or the others."""
    names = [c.removesuffix("_mean") for c in table.columns if c.endswith("_mean")]
    names = [name for name in names if (DOMAIN_SEPARATOR in name) == domains]
    # a secondary metric no row computed (a caption task's SPICE without its models) is left out
    names = [name for name in names if name in FIGURES or table[f"{name}_mean"].notna().any()]
    shown = table[["backbone", "strategy", "policy"]].copy()
    one_seed = table["n_seeds"] <= 1
    for name in names:
        digits = 4 if _is_metric(name) else 2
        shown[_header(name, metric_name)] = [
            "–" if pd.isna(mean) else f"{mean:.{digits}f}" if single else f"{mean:.{digits}f} ± {std:.{digits}f}"
            for mean, std, single in zip(table[f"{name}_mean"], table[f"{name}_std"], one_seed)
        ]
    shown["seeds"] = table["n_seeds"]
    if "note" in table:
        shown["note"] = table["note"]
    return shown


def markdown_table(table: pd.DataFrame, metric_name: str, domains: bool = False) -> str:
    return display_frame(table, metric_name, domains).to_markdown(index=False)


NO_LATENCY = ("No real early-exit timing in this grid: the config's latency.policies names none of this task's "
              "policies (only the policies it lists are timed).")


def table_page(title: str, sections: Sequence[tuple[str, pd.DataFrame]], note: str = "") -> str:
    """A self-contained HTML page of titled tables, for the report (which shows HTML, where a CSV only downloads)."""
    import html

    from .leaderboard import STYLE

    body = "".join(
        f"<h3>{html.escape(heading)}</h3>"
        + (frame.to_html(index=False, escape=True, border=0, na_rep="–") if len(frame) else "<p>None.</p>")
        for heading, frame in sections
    )
    note = f"<p class='note'>{html.escape(note)}</p>" if note else ""
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body><h2>{html.escape(title)}</h2>{note}{body}</body></html>\n")


def data_summary(info: dict) -> pd.DataFrame:
    """One row per split: size, label distribution and mean length (tokens) or image shape, from info.json; for a
    caption task (info.json with `sizes` per split instead of `splits`), images and references per image."""
    if "splits" not in info and "sizes" in info:
        return caption_data_summary(info)
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


def caption_data_summary(info: dict) -> pd.DataFrame:
    """A caption task's splits: images, reference captions per image, and the words per caption over all splits."""
    references = info.get("references_per_image", {})
    words = info.get("caption_words", {})
    rows = []
    for split, size in info["sizes"].items():
        row = {"split": split, "images": size}
        if split in references:
            row["references per image"] = round(float(references[split]), 2)
        if words:
            row["words per caption (all splits: min / mean / max)"] = (
                f"{words.get('min', '–')} / {float(words.get('mean', math.nan)):.2f} / {words.get('max', '–')}")
        rows.append(row)
    return pd.DataFrame(rows)


def checks_table(check_paths: list[Path]) -> pd.DataFrame:
    """One row per run: error of every exit on val and test, BEEM's monotonicity assumption, exits that predict one
    class only and, for classification, ECE and the sample categories (metrics.checks.checks_row reads each file)."""
    rows = []
    for path in check_paths:
        run = parse_run(path)
        rows.append({**{key: run[key] for key in ("backbone", "strategy", "seed")}, **checks_row(read_json(path))})
    return pd.DataFrame(rows)


LATENCY_COLUMNS = [
    "backbone", "strategy", "seed", "policy", "batch_size", "wall_clock_speedup", "wall_clock_speedup_spread",
    "layer_speedup", "early_exit_samples_per_second", "full_depth_samples_per_second", "decisions_match_simulation", "device",
]


def latency_table(latency_paths: list[Path]) -> pd.DataFrame:
    """Real early-exit timing: one row per run × policy × batch size (the config's latency.batch_sizes)."""
    rows = []
    for path in latency_paths:
        latency = read_json(path)
        cell = parse_cell(path)
        for entry in latency["by_batch_size"].values():
            rows.append({**cell, **entry, "device": latency["device"]})
    return pd.DataFrame(rows, columns=LATENCY_COLUMNS)


PER_EXIT_LOSSES = ("loss_per_exit", "exit_losses")  # the main trainer's name, then the captioner's older one
TRAINING_COLUMNS = ["step", "exit", "loss", "panel", "seed"]


def training_curves(model_dirs: list[Path]) -> pd.DataFrame:
    """Loss of every exit against the step, from each run's train_log.jsonl (a null loss — an exit a phase does
    not train — is left out). The step is the log's `step` where it counts up over the whole log; a log whose
    steps restart in each phase (or that has none) is drawn against its line number."""
    frames = []
    for model_dir in model_dirs:
        path = Path(model_dir) / "train_log.jsonl"
        if not path.is_file():
            raise DataError(f"'{path}': file not found")
        log = pd.read_json(path, lines=True)
        if log.empty:
            continue
        field = next((name for name in PER_EXIT_LOSSES if name in log.columns), None)
        if field is None:
            raise DataError(f"'{path}': no per-exit losses (field '{PER_EXIT_LOSSES[0]}' or '{PER_EXIT_LOSSES[1]}')")
        losses = pd.DataFrame(log[field].tolist(), index=log.index)
        steps = log["step"] if "step" in log.columns else None
        if steps is None or steps.isna().any() or not steps.is_monotonic_increasing or not steps.is_unique:
            steps = pd.Series(np.arange(1, len(log) + 1), index=log.index)
        long = losses.assign(step=steps).melt(id_vars="step", var_name="exit", value_name="loss")
        run = parse_run(model_dir)
        long["exit"] = long["exit"] + 1
        long["loss"] = pd.to_numeric(long["loss"], errors="coerce")
        frames.append(long.assign(panel=f"{run['backbone']} / {run['strategy']}", seed=run["seed"]))
    if not frames:
        return pd.DataFrame(columns=TRAINING_COLUMNS)
    return pd.concat(frames, ignore_index=True).dropna(subset=["loss"])


TRAINING_WINDOWS = 50  # a run's rolling-mean window is 1/50 of its logged steps
TRAINING_POINTS = 200  # steps drawn per exit and model (the window spans several of them: the trend is kept)


def training_bands(curves: pd.DataFrame) -> pd.DataFrame:
    """Per panel, exit and step: the mean over seeds of each seed's loss smoothed by a centred rolling mean over
    1/TRAINING_WINDOWS of the run's logged steps (a minibatch's loss is too noisy to show a trend), and the seeds'
    range."""
    columns = ["panel", "exit", "step", "loss", "loss_min", "loss_max", "n_seeds", "window"]
    if curves.empty:
        return pd.DataFrame(columns=columns)
    smoothed = []
    for _, run in curves.sort_values("step").groupby(["panel", "seed"], sort=False):
        # one window per run: an exit that some phases do not train is logged at fewer steps than the others
        window = max(1, run["step"].nunique() // TRAINING_WINDOWS)
        for _, losses in run.groupby("exit", sort=False):
            smoothed.append(losses.assign(loss=losses["loss"].rolling(window, center=True, min_periods=1).mean(),
                                          window=window))
    frame = pd.concat(smoothed, ignore_index=True)
    bands = (frame.groupby(["panel", "exit", "step"])
             .agg(loss=("loss", "mean"), loss_min=("loss", "min"), loss_max=("loss", "max"),
                  n_seeds=("seed", "nunique"), window=("window", "max"))
             .reset_index())
    return bands.groupby(["panel", "exit"], group_keys=False)[columns].apply(_thinned)


def _thinned(curve: pd.DataFrame) -> pd.DataFrame:
    """At most TRAINING_POINTS evenly spaced steps of one smoothed curve, its last step kept: a full-data run logs
    thousands of steps, more than a chart needs (and than altair embeds) once the loss is smoothed."""
    if len(curve) <= TRAINING_POINTS:
        return curve
    keep = np.unique(np.linspace(0, len(curve) - 1, TRAINING_POINTS).round().astype(int))
    return curve.iloc[keep]


def training_chart(curves: pd.DataFrame):
    """One panel per model: each exit's training loss, mean over seeds with the seeds' range as a band, smoothed."""
    from .charts import load_altair

    alt = load_altair()

    bands = training_bands(curves)
    seeds = sorted(curves["seed"].unique())
    windows = sorted(bands["window"].unique())
    smoothing = (f"rolling mean over {windows[0]} steps" if len(windows) == 1
                 else f"rolling means over {windows[0]}–{windows[-1]} steps")
    subtitle = (f"seed {seeds[0]}, {smoothing}" if len(seeds) == 1 else
                f"mean over seeds {', '.join(map(str, seeds))} of each seed's {smoothing}; band: the seeds' range")
    # viridis without its palest yellow, which a white background swallows
    exits = alt.Scale(scheme=alt.SchemeParams("viridis", extent=[0, 0.85]))
    x = alt.X("step:Q")
    log = alt.Scale(type="log", nice=False)
    # one legend for the line and its band, drawn as opaque lines (the band's faint fill would be its symbol)
    colour = alt.Color("exit:O", scale=exits, legend=alt.Legend(orient="bottom", symbolType="stroke",
                                                                symbolStrokeWidth=2, symbolOpacity=1))
    band = alt.Chart().mark_area(opacity=0.25).encode(x=x, y=alt.Y("loss_min:Q", scale=log), y2="loss_max:Q",
                                                      color=colour)
    line = alt.Chart().mark_line(strokeWidth=1.5).encode(
        x=x, y=alt.Y("loss:Q", title="training loss", scale=log), color=colour,
        tooltip=["panel:N", "exit:O", "step:Q", alt.Tooltip("loss:Q", format=".4f"), "n_seeds:Q"])
    title = alt.TitleParams("Training loss per exit", subtitle=subtitle, anchor="start")
    # the line first: its y title stands for both layers
    return (alt.layer(line, band, data=bands).properties(width=320, height=220)
            .facet(facet=alt.Facet("panel:N", title=None), columns=2).properties(title=title))


def aggregate_task(
    task: str,
    policies: list[str],
    test_paths: list[Path],
    curve_paths: list[Path],
    check_paths: list[Path],
    model_dirs: list[Path],
    data_dir: Path,
    out_dir: Path,
    tolerance: float,
    latency_paths: list[Path] = (),
    cost_paths: list[Path] = (),
    skipped: list[dict] = (),
    extra_sections: Sequence[tuple[str, str]] = (),
) -> None:
    """Tables and charts of `task` from its cells' files, rows in the order of `policies`; `skipped` lists the
    policies left out of the grid (backbone, strategy, policy, reason), shown as rows with the reason. The
    leaderboard opens the task's Markdown, followed by the "Paper vs eebench" section (paper_claims.py; `cost_paths`
    are the runs' costs.json, for the claims about FLOPs) and `extra_sections` ((title, Markdown) pairs)."""
    from .charts import (exit_histogram_chart, exit_histograms, notice_chart, save_chart, speedup_chart,
                         write_check_charts)
    from .leaderboard import task_leaderboard, write_leaderboard
    from .leaderboard import metric_label
    from .paper_claims import paper_comparison, paper_html, paper_markdown, read_measurements, task_setting
    from .size_chart import size_chart
    from .published import load_published

    records = cell_records(test_paths)
    results = results_frame(records)
    if results.empty or set(results["task"]) != {task}:
        raise DataError(f"task {task!r}: the given results belong to tasks {sorted(set(results.get('task', [])))}")
    metric_name = str(results["metric_name"].iloc[0])
    unknown = sorted(set(results["policy"].map(base_policy)) - set(policies))
    if unknown:
        raise DataError(f"task {task!r}: results of policies {unknown} that --policies does not list ({policies})")
    table = with_skipped(summary_table(results, policies), list(skipped), policies)
    info = read_json(Path(data_dir) / "info.json")
    sequence = is_sequence_task(records, info)
    data = data_summary(info)
    checks = checks_table(check_paths)
    latency = latency_table(list(latency_paths))

    out = {name: Path(out_dir) / template.format(task=task) for name, template in {**TABLES, **PLOTS}.items()}
    _write_csv(table, out["table"])
    _write_csv(data, out["data"])
    _write_csv(checks, out["checks"])
    _write_csv(latency, out["latency"])
    shown = [("Exit policies on test (knobs fitted on val)", display_frame(table, metric_name))]
    if any(DOMAIN_SEPARATOR in column for column in table.columns):
        shown.append(("Per test domain (decisions on the whole test stream)", display_frame(table, metric_name, True)))
    seeds = "mean ± std over seeds (the mean alone for one seed)"
    write_text(out["table_page"], table_page(f"{task}: exit policies on test", shown, seeds))
    write_text(out["data_page"], table_page(f"{task}: data", [("Splits", data)]))
    write_text(out["checks_page"], table_page(f"{task}: checks per run", [("Runs", checks)],
                                              "Per-exit errors on val and test, monotonicity, degenerate exits (val: "
                                              "closed by default; test; each test domain), ECE, sample categories."
                                              + (" Units are generated tokens; an exit's error is the share of tokens "
                                                 "where its token differs from the full model's." if sequence else "")))
    write_text(out["latency_page"], table_page(f"{task}: real early-exit latency", [("Runs", latency)],
                                               "" if len(latency) else NO_LATENCY))
    latency_section = f"\n## Real early-exit latency\n\n{latency.to_markdown(index=False)}\n" if len(latency) else ""
    domain_section = (
        f"## Per test domain (decisions on the whole test stream)\n\n{markdown_table(table, metric_name, domains=True)}\n\n"
        if any(DOMAIN_SEPARATOR in column for column in table.columns) else ""
    )
    curves = collect_curves(curve_paths)
    samples = collect_samples(records)
    board = task_leaderboard(results, curves, samples, tolerance)
    leaderboard = write_leaderboard(board, task, metric_name, tolerance, out)
    measured = read_measurements(results, curves, check_paths, list(cost_paths), tolerance, records, samples, latency)
    claims, not_comparable = paper_comparison(load_published(), task_setting(task, info), measured)
    _write_csv(claims, out["paper_table"])
    write_text(out["paper"], paper_html(claims, not_comparable, task))
    sections = [("Paper vs eebench", paper_markdown(claims, not_comparable)), *extra_sections]
    extras = "".join(f"## {title}\n\n{text}\n\n" for title, text in sections)
    write_text(
        out["markdown"],
        f"# {task}\n\n{leaderboard}\n{extras}## Exit policies on test\n\n{markdown_table(table, metric_name)}\n\n{domain_section}"
        f"## Data\n\n{data.to_markdown(index=False)}\n\n## Checks per run\n\n{checks.to_markdown(index=False)}\n"
        + latency_section,
    )
    save_chart(speedup_chart(curves, results, metric_name, tolerance, policies), out["chart"], out["image"])
    save_chart(size_chart(measured, metric_label(metric_name)), out["sizes"], out["sizes_image"])
    unit = "tokens" if sequence else "samples"
    save_chart(exit_histogram_chart(exit_histograms(test_paths), policies, unit), out["exits"], out["exits_image"])
    write_check_charts(check_paths, out)
    curves_of_training = training_curves(model_dirs)
    save_chart(training_chart(curves_of_training) if len(curves_of_training)
               else notice_chart("no per-exit training losses in the runs' train_log.jsonl"),
               out["training"], out["training_image"])


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, float_format="%.6g", quoting=csv.QUOTE_MINIMAL)
