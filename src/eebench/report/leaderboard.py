"""Which exit method wins on a task, by how much, and whether the margin exceeds seed noise.

Per run (one trained model: backbone × strategy × seed) and policy, from the policy's knob sweep on test
(`curve.csv`):

- **speed-up at tolerance**: the largest layer speed-up among the sweep's points whose metric is at most
  `tolerance` below the final exit's (the `final` policy's test metric of the same run); 1.0 when no point qualifies
  (the method's best option is then not to exit early). The knob is read off the test curve, the same way for every
  method: it measures the trade-off a method can offer, while the fitted point (knob chosen on val) is in the tables.
- **area**: the area under the metric-vs-speed-up curve (linear between sweep points, each sweep anchored at the
  full model: 1.0× with the final exit's metric) over the speed-up range every method's sweep covers in every run of
  the group, divided by the range's width, i.e. the mean metric over that range.
- **share of the oracle**: the share of the oracle's saved layers the method saves at tolerance,
  (1 − 1/s) / (1 − 1/s_oracle): 0 for the full model, 1 for the oracle.

Over the runs of a group each figure is a mean with a 95 % Student-t interval (n − 1 degrees of freedom; with two
seeds t = 12.7, so intervals are wide, and with one seed there is none). Every method is compared with the best
baseline (the better of the non-adaptive references `final` and `static-k`) and with the leader by a paired t-test
on the speed-up at tolerance, pairs being the runs both were evaluated on (same model, same seed).
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from ..io import atomic_path, write_text

LIMIT = "oracle"  # reads the labels: shown as the limit, never ranked
BASELINES = ("final", "static-k")  # non-adaptive references; the better one is "the best baseline"
ALL_RUNS = "all runs"
CONFIDENCE = 0.95
TEST_NAME = "paired t-test (scipy.stats.ttest_rel, two-sided)"
INTERVAL_NAME = "95 % Student-t interval over runs (scipy.stats.t)"


def model_name(frame: pd.DataFrame) -> pd.Series:
    return frame["backbone"] + " / " + frame["strategy"]


def curve_function(points: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """A sweep as a function of speed-up: sorted distinct speed-ups and the mean metric at each."""
    by_speedup = points.groupby("layer_speedup")["metric"].mean().sort_index()
    return by_speedup.index.to_numpy(float), by_speedup.to_numpy(float)


def mean_over_range(speedups: np.ndarray, metrics: np.ndarray, low: float, high: float) -> float:
    """Area under the piecewise-linear curve between `low` and `high`, divided by `high − low` (exact)."""
    if not high > low:
        return math.nan
    speedups, metrics = np.asarray(speedups, dtype=float), np.asarray(metrics, dtype=float)
    inside = speedups[(speedups > low) & (speedups < high)]
    grid = np.concatenate([[low], inside, [high]])
    return float(np.trapezoid(np.interp(grid, speedups, metrics), grid) / (high - low))


def speedup_at_tolerance(points: pd.DataFrame, final_metric: float, tolerance: float) -> float:
    """Largest speed-up of a sweep whose metric drop against the final exit is <= tolerance (1.0 if none)."""
    within = points["layer_speedup"][points["metric"] >= final_metric - tolerance - 1e-12]
    return float(within.max()) if len(within) else 1.0


def common_range(curves: pd.DataFrame, methods: Iterable[str]) -> tuple[float, float]:
    """The speed-up range that every method's sweep covers in every run of `curves`."""
    spans = curves[curves["policy"].isin(list(methods))].groupby(["run", "policy"])["layer_speedup"].agg(["min", "max"])
    return (float(spans["min"].max()), float(spans["max"].min())) if len(spans) else (math.nan, math.nan)


def anchored_at_full_model(curves: pd.DataFrame, results: pd.DataFrame) -> pd.DataFrame:
    """Each sweep plus the point (1.0×, final exit's metric) of its run: every method can fall back to the full
    model, so the common range starts at 1.0× whatever knob values a sweep happened to try."""
    finals = results[results["policy"] == "final"][["run", "metric"]]
    anchors = curves[["run", "policy"]].drop_duplicates().merge(finals, on="run").assign(layer_speedup=1.0)
    return pd.concat([curves, anchors], ignore_index=True)


def swept_methods(curves: pd.DataFrame) -> list[str]:
    """Policies whose sweep spans more than one speed-up in every run (the references have a single point)."""
    distinct = curves.groupby(["policy", "run"])["layer_speedup"].nunique().groupby("policy").min()
    return [policy for policy, n in distinct.items() if n > 1 and policy != LIMIT]


def per_run_figures(results: pd.DataFrame, curves: pd.DataFrame, tolerance: float) -> pd.DataFrame:
    """One row per run × policy with a sweep: speed-up at tolerance, area over the group's common range (set by
    the caller as columns `low`, `high`), share of the oracle."""
    rows = []
    finals = results[results["policy"] == "final"].set_index("run")["metric"]
    oracles = results[results["policy"] == LIMIT].set_index("run")["layer_speedup"]
    for (run, policy), points in curves.groupby(["run", "policy"], sort=False):
        if run not in finals.index:
            continue
        speedup = oracles[run] if policy == LIMIT and run in oracles.index else speedup_at_tolerance(
            points, finals[run], tolerance
        )
        rows.append({"run": run, "policy": policy, "speedup_at_tolerance": speedup,
                     "oracle_share": _saved_share(speedup, oracles.get(run, math.nan))})
    return pd.DataFrame(rows, columns=["run", "policy", "speedup_at_tolerance", "oracle_share"])


def _saved_share(speedup: float, oracle_speedup: float) -> float:
    if not oracle_speedup > 1:
        return math.nan
    return (1 - 1 / speedup) / (1 - 1 / oracle_speedup)


def mean_interval(values: Iterable[float]) -> tuple[float, float, float, int]:
    """Mean, 95 % t-interval (NaN with fewer than two values) and n of the finite values."""
    values = np.asarray([v for v in values if np.isfinite(v)], dtype=float)
    n = len(values)
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    mean = float(values.mean())
    if n < 2:
        return mean, math.nan, math.nan, n
    sem = stats.sem(values)
    if sem == 0:
        return mean, mean, mean, n
    low, high = stats.t.interval(CONFIDENCE, n - 1, loc=mean, scale=sem)
    return mean, float(low), float(high), n


def paired_comparison(method: pd.Series, reference: pd.Series) -> dict[str, float]:
    """Mean difference method − reference over the runs both have, its t-interval and the paired t-test's p."""
    both = pd.concat([method, reference], axis=1, join="inner").dropna()
    differences = both.iloc[:, 0] - both.iloc[:, 1]
    mean, low, high, n = mean_interval(differences)
    if n < 2:
        p = math.nan
    elif np.ptp(differences) <= 1e-12 * max(1.0, abs(mean)):  # no spread: the t statistic is undefined
        p = 1.0 if abs(mean) <= 1e-12 else math.nan
    else:
        p = float(stats.ttest_rel(both.iloc[:, 0], both.iloc[:, 1]).pvalue)
    return {"diff": mean, "diff_low": low, "diff_high": high, "p": p, "n_pairs": n}


def group_leaderboard(results: pd.DataFrame, curves: pd.DataFrame, tolerance: float) -> pd.DataFrame:
    """The ranked leaderboard of one group of runs (results and curves carry a `run` column)."""
    methods = swept_methods(curves)
    figures = per_run_figures(results, curves, tolerance)
    curves = anchored_at_full_model(curves[curves["policy"].isin(methods)], results)
    low, high = common_range(curves, methods)
    areas = {
        (run, policy): mean_over_range(*curve_function(points), low, high)
        for (run, policy), points in curves.groupby(["run", "policy"])
    }
    figures["area"] = [areas.get((run, policy), math.nan) for run, policy in zip(figures["run"], figures["policy"])]
    speedups = figures.pivot(index="run", columns="policy", values="speedup_at_tolerance")

    rows = []
    for policy, own in figures.groupby("policy", sort=False):
        row = {"policy": policy}
        for name in ("speedup_at_tolerance", "area", "oracle_share"):
            mean, lo, hi, n = mean_interval(own[name])
            row.update({name: mean, f"{name}_low": lo, f"{name}_high": hi})
        row["n_runs"] = own["run"].nunique()
        rows.append(row)
    board = pd.DataFrame(rows)
    board["area_low_speedup"], board["area_high_speedup"] = low, high
    limit = board[board["policy"] == LIMIT]
    board = board[board["policy"] != LIMIT].sort_values(
        ["speedup_at_tolerance", "area"], ascending=False, kind="stable", na_position="last"
    )
    board.insert(0, "rank", range(1, len(board) + 1))
    board.insert(1, "rank_by_area", board["area"].rank(ascending=False, method="min").astype("Int64"))

    baselines = board[board["policy"].isin(BASELINES)]
    best_baseline = baselines["policy"].iloc[0] if len(baselines) else None
    leader = board["policy"].iloc[0] if len(board) else None
    for prefix, reference in (("vs_baseline", best_baseline), ("vs_leader", leader)):
        compared = [
            paired_comparison(speedups[policy], speedups[reference]) if reference is not None else {}
            for policy in board["policy"]
        ]
        board[f"{prefix}"] = reference
        for key in ("diff", "diff_low", "diff_high", "p", "n_pairs"):
            board[f"{prefix}_{key}"] = [c.get(key, math.nan) for c in compared]
    if len(limit):
        board = pd.concat([board, limit.assign(rank=pd.NA)], ignore_index=True)
    return board.reset_index(drop=True)


def task_leaderboard(results: pd.DataFrame, curves: pd.DataFrame, tolerance: float) -> pd.DataFrame:
    """Leaderboards of a task: one over all runs when the task has several models, then one per model
    (backbone / strategy); column `group` names it. Empty without the `final` policy (the reference of the
    tolerance)."""
    if "final" not in set(results["policy"]):
        return pd.DataFrame()
    results = results.assign(run=model_name(results) + " / seed" + results["seed"].astype(str))
    curves = curves.assign(run=model_name(curves) + " / seed" + curves["seed"].astype(str))
    models = list(dict.fromkeys(model_name(results)))
    groups = ([(ALL_RUNS, None)] if len(models) > 1 else []) + [(model, model) for model in models]
    boards = []
    for name, model in groups:
        chosen_results = results if model is None else results[model_name(results) == model]
        chosen_curves = curves if model is None else curves[model_name(curves) == model]
        boards.append(group_leaderboard(chosen_results, chosen_curves, tolerance).assign(group=name))
    board = pd.concat(boards, ignore_index=True)
    return board[["group", *[c for c in board.columns if c != "group"]]]


# ---- presentation -------------------------------------------------------------------------------------------


def _interval(mean: float, low: float, high: float, digits: int, suffix: str = "") -> str:
    if pd.isna(mean):
        return "–"
    text = f"{mean:.{digits}f}{suffix}"
    return text + (f" [{low:.{digits}f}, {high:.{digits}f}]" if pd.notna(low) else " [n = 1]")


def _p_value(p: float) -> str:
    return "–" if pd.isna(p) else f"{p:.2g}"


def _comparison(row: pd.Series, prefix: str) -> str:
    if row["policy"] == row[prefix] or pd.isna(row[f"{prefix}_diff"]):
        return "–"
    diff = f"{row[f'{prefix}_diff']:+.2f}×"
    if pd.isna(row[f"{prefix}_diff_low"]):
        return f"{diff} (one pair: no test)"
    return (f"{diff} [{row[f'{prefix}_diff_low']:+.2f}, {row[f'{prefix}_diff_high']:+.2f}], "
            f"p = {_p_value(row[f'{prefix}_p'])}")


def display_table(board: pd.DataFrame, metric_name: str, tolerance: float) -> pd.DataFrame:
    """One group's leaderboard as text cells (the Markdown and HTML tables)."""
    low, high = board["area_low_speedup"].iloc[0], board["area_high_speedup"].iloc[0]
    area_header = (f"mean {metric_name} over speed-up {low:.2f}–{high:.2f}×" if high > low
                   else "area (no speed-up range common to all methods)")
    baseline = board["vs_baseline"].dropna().iloc[0] if board["vs_baseline"].notna().any() else "baseline"
    leader = board["vs_leader"].dropna().iloc[0] if board["vs_leader"].notna().any() else "leader"
    return pd.DataFrame({
        "rank": ["limit" if pd.isna(r) else str(r) for r in board["rank"]],
        "policy": board["policy"],
        f"speed-up at drop ≤ {tolerance:g}": [
            _interval(m, lo, hi, 2, "×") for m, lo, hi in
            zip(board["speedup_at_tolerance"], board["speedup_at_tolerance_low"], board["speedup_at_tolerance_high"])
        ],
        area_header: [
            _interval(m, lo, hi, 4) for m, lo, hi in zip(board["area"], board["area_low"], board["area_high"])
        ],
        "rank by area": ["–" if pd.isna(r) else str(r) for r in board["rank_by_area"]],
        "share of oracle's saved layers": [
            "–" if pd.isna(s) else f"{s:.0%}" for s in board["oracle_share"]
        ],
        f"vs best baseline ({baseline})": [_comparison(row, "vs_baseline") for _, row in board.iterrows()],
        f"vs leader ({leader})": [_comparison(row, "vs_leader") for _, row in board.iterrows()],
        "runs": board["n_runs"],
    })


def verdict(board: pd.DataFrame, tolerance: float) -> str:
    """One sentence: the leader, its margin over the runner-up and whether that margin exceeds seed noise."""
    ranked = board[board["rank"].notna()]
    if ranked.empty:
        return "No method has results."
    leader = ranked.iloc[0]
    text = (f"**{leader['policy']}** gives the largest speed-up at a metric drop ≤ {tolerance:g}: "
            + _interval(leader["speedup_at_tolerance"], leader["speedup_at_tolerance_low"],
                        leader["speedup_at_tolerance_high"], 2, "×"))
    others = ranked.iloc[1:]
    tied = others[(-others["vs_leader_diff"]).abs() < 0.005]
    if len(tied):
        text += "; tied with " + ", ".join(f"**{name}**" for name in tied["policy"])
    behind = others[(-others["vs_leader_diff"]).abs() >= 0.005]
    if len(behind):
        second = behind.iloc[0]
        p, margin, pairs = second["vs_leader_p"], -second["vs_leader_diff"], int(second["vs_leader_n_pairs"])
        noise = ("not testable: fewer than two paired runs or identical differences" if pd.isna(p)
                 else "beyond seed noise" if p < 0.05 else "not beyond seed noise")
        named = f"the next, **{second['policy']}**," if len(tied) else f"**{second['policy']}**"
        text += (f"; ahead of {named} by {margin:.2f}× "
                 f"(paired t-test, p = {_p_value(p)}, {pairs} paired runs: {noise})")
    limit = board[board["policy"] == LIMIT]
    if len(limit) and pd.notna(leader["oracle_share"]):
        text += (f". The oracle reaches {limit['speedup_at_tolerance'].iloc[0]:.2f}×; the leader saves "
                 f"{leader['oracle_share']:.0%} of the layers the oracle saves")
    return text + "."


def notes(tolerance: float) -> str:
    return (
        f"Speed-up is the layer speed-up (L / mean exit layer) on test, read off each method's knob sweep at the "
        f"largest speed-up whose metric is at most {tolerance:g} below the final exit's (1.0× if none). Intervals: "
        f"{INTERVAL_NAME}; with 2 runs t(0.975, 1) = 12.7, so they are wide, and with 1 run there is none. "
        f"Comparisons: mean paired difference in speed-up at tolerance with its interval, {TEST_NAME}, over the runs "
        f"both methods share. The oracle reads the labels: it is the limit, not ranked."
    )


def leaderboard_markdown(board: pd.DataFrame, metric_name: str, tolerance: float, level: str = "##") -> str:
    """The notes, then per group (heading `level`) the verdict and the ranked table."""
    if board.empty:
        return NO_LEADERBOARD + "\n"
    parts = [notes(tolerance) + "\n"]
    for group, rows in board.groupby("group", sort=False):
        parts.append(f"{level} {group}\n\n{verdict(rows, tolerance)}\n\n"
                     f"{display_table(rows, metric_name, tolerance).to_markdown(index=False)}\n")
    return "\n".join(parts)


NO_LEADERBOARD = "No leaderboard: it needs the `final` policy, whose metric the tolerance is measured from."


def write_leaderboard(board: pd.DataFrame, task: str, metric_name: str, tolerance: float, out: dict[str, Path]) -> str:
    """Write the leaderboard's table, Markdown and page at the paths `out` gives by layout.TABLES name; return the
    Markdown section for the task's page."""
    with atomic_path(out["leaderboard_table"]) as tmp:
        board.to_csv(tmp, index=False, float_format="%.6g")
    write_text(out["leaderboard_markdown"], f"# {task}: leaderboard\n\n{leaderboard_markdown(board, metric_name, tolerance)}")
    write_text(out["leaderboard"], leaderboard_html(board, task, metric_name, tolerance))
    return f"## Leaderboard\n\n{leaderboard_markdown(board, metric_name, tolerance, '###')}"


STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; font-size: 0.9em; margin-bottom: 1.5em; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3em 0.6em; text-align: left; }
th { background: #f3f3f3; }
tr.leader td { font-weight: 600; background: #eef6ff; }
tr.limit td { color: #666; font-style: italic; }
p.note { color: #555; font-size: 0.85em; max-width: 60em; }
"""


def leaderboard_html(board: pd.DataFrame, task: str, metric_name: str, tolerance: float) -> str:
    """A self-contained page: per group, the verdict and the ranked table (leader and limit rows marked)."""
    sections = [] if len(board) else [f"<p>{html.escape(NO_LEADERBOARD)}</p>"]
    for group, rows in board.groupby("group", sort=False):
        table = display_table(rows, metric_name, tolerance)
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
        body = "".join(
            f'<tr class="{"limit" if r == "limit" else "leader" if r == "1" else ""}">'
            + "".join(f"<td>{html.escape(str(v))}</td>" for v in values) + "</tr>"
            for r, values in zip(table["rank"], table.itertuples(index=False))
        )
        sentence = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", html.escape(verdict(rows, tolerance)))
        sections.append(f"<h2>{html.escape(group)}</h2><p>{sentence}</p><table><tr>{head}</tr>{body}</table>")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(task)} leaderboard</title>"
            f"<style>{STYLE}</style></head><body><h1>{html.escape(task)}: which method wins</h1>"
            + "".join(sections) + f"<p class='note'>{html.escape(notes(tolerance))}</p></body></html>\n")
