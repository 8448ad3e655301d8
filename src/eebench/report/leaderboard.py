"""Which exit method wins on a task, by how much, and whether the margin exceeds noise — under one protocol that
cannot flatter a method.

**Protocol.** Every knob is fitted on val only. A method's headline figure is its val-fitted operating point
evaluated on test — what a deployer gets: the layer speed-up L / mean exit layer, the task metric and its drop
against the final exit (the `final` policy of the same run). Methods whose mean drop stays within `tolerance` are
ranked first, by speed-up; those whose drop exceeds it on test follow, marked. Nothing read off the test sweep
enters the headline, the ranking or the oracle share; the sweep gives two secondary, named columns:
- **best on test sweep (optimistic)**: the largest speed-up among the sweep's points (knob values tried on test)
  whose metric is at most `tolerance` below the final exit's — the knob chosen with hindsight;
- **area**: the mean metric of the sweep (linear between points, anchored at 1.0× with the final exit's metric)
  over the speed-up range every method's sweep covers in every run of the group.

**The limit** is the oracle's least depth within the tolerance (`policies.oracle.least_depth_within_tolerance`):
with hindsight, the least mean depth at which the test metric stays within `tolerance` of the final exit's. For
accuracy it bounds every method: a run where a method's drop is within tolerance and its speed-up above the limit
is an inconsistency, and the aggregate stops with an error naming it. **Share of the oracle** is the share of the
limit's saved layers a method saves, (1 − 1/s) / (1 − 1/s_limit), shown for methods within tolerance in every run.
The oracle's earliest-correct exit (its own decisions) is shown as a second reference.

**Statistics.** Intervals are 95 % percentile intervals of a paired bootstrap: each resample draws the runs (seeds)
with replacement and, within each drawn run, the test samples with replacement, the same samples for every method,
so every speed-up stays >= 1× and every metric inside its range. Comparisons are the mean paired difference in
speed-up over the same resamples, against the best baseline (the better-ranked of the non-adaptive `final` and
`static-k`) and the leader; a difference is beyond noise when its interval excludes 0, and the two-sided
bootstrap p is 2 × the smaller tail share.

**Sequence tasks (captions).** The unit of an exit decision is a generated token, but the metric (CIDEr-D) scores
whole captions, so the unit resampled is the image: a test.json whose samples carry `sample_id` (the image of each
token) and `image_scores` (each image's CIDEr-D) is resampled by image. On a draw of images (with multiplicity) a
policy's metric is the mean of its drawn images' scores (the corpus CIDEr-D is the mean of the per-image scores; the
IDF stays the one of the whole test split's references) and its layer speed-up is L × (tokens of the drawn images)
/ (sum of those tokens' exit layers) — the token-level L / mean exit layer on that draw. Every policy gets the same
draw. For such a metric the oracle's least depth within the tolerance is found token by token and CIDEr-D is no sum
over tokens, so it is no proven bound: it is labelled a reference, and a method may pass it.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError
from ..io import atomic_path, write_text
from ..metrics import task_metrics
from .aggregate import HINDSIGHT, WITHIN_TOLERANCE

LIMIT = "oracle" + WITHIN_TOLERANCE  # the limit row: never ranked
REFERENCES = ("oracle", LIMIT)  # read the labels: shown, never ranked
BASELINES = ("final", "static-k")  # non-adaptive references; the better-ranked one is "the best baseline"
ALL_RUNS = "all runs"
CONFIDENCE = 0.95
RESAMPLES = 1000  # bootstrap resamples per group
BOOTSTRAP_SEED = 0
FEW_RUNS = 3  # fewer seeds than this cannot show seed-to-seed spread: the verdict says so
INTERVAL_NAME = "95 % paired bootstrap percentile interval (seeds and {unit} resampled)"
EXACT_LIMIT_METRICS = ("accuracy",)  # metrics for which the limit is a proven bound (a sum over samples)
SAMPLE_UNIT, IMAGE_UNIT = "test samples", "test images"  # what the bootstrap resamples within a run
# How a report names a metric: the caption metrics by the COCO protocol's names; any other metric by its own name.
METRIC_LABELS = {"cider": "CIDEr-D", "cider_ptb": "CIDEr-D (COCO PTB tokenizer)", "bleu1": "BLEU-1", "bleu2": "BLEU-2", "bleu3": "BLEU-3", "bleu4": "BLEU-4",
                 "meteor": "METEOR", "rouge_l": "ROUGE-L", "spice": "SPICE"}


def metric_label(name: str) -> str:
    """The name a table or chart shows for a metric ("cider" → "CIDEr-D"; others unchanged)."""
    return METRIC_LABELS.get(str(name), str(name))


def limit_is_bound(metric: str) -> bool:
    """Whether the oracle's least depth within the tolerance bounds every method for `metric`."""
    return metric in EXACT_LIMIT_METRICS


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


@dataclass
class RunSamples:
    """One run's test samples: labels [N], the number of exits, and per policy its exit layers and predictions.

    A sequence task's run (captions) also has `sample_ids` [N] (the image of each token, 0..n_images − 1) and per
    policy its `image_scores` [n_images]: the bootstrap then resamples images (`units`), not tokens."""

    labels: np.ndarray
    n_exits: int
    exits: dict[str, np.ndarray]
    predictions: dict[str, np.ndarray]
    sample_ids: np.ndarray | None = None
    image_scores: dict[str, np.ndarray] | None = None

    @property
    def sequence(self) -> bool:
        return self.sample_ids is not None

    @property
    def units(self) -> int:
        """How many units a bootstrap draw picks from: images for a sequence task, samples otherwise."""
        return len(next(iter(self.image_scores.values()))) if self.sequence else len(self.labels)


def runs_of(samples: dict[tuple, dict[str, np.ndarray]], tolerance: float) -> dict[str, RunSamples]:
    """`aggregate.collect_samples`' records grouped by run (named as `task_leaderboard` names runs); a limit
    computed for another tolerance than the leaderboard's is left out. A run is a sequence run when its records
    carry `sample_id` and `image_scores`; then every policy of the run must, over the same tokens and images."""
    runs: dict[str, RunSamples] = {}
    for (backbone, strategy, seed, policy), record in samples.items():
        if policy == LIMIT and not math.isclose(float(record.get("tolerance", math.nan)), tolerance, abs_tol=1e-12):
            continue
        name = f"{backbone} / {strategy} / seed{seed}"
        sequence = "sample_id" in record and "image_scores" in record
        run = runs.setdefault(name, RunSamples(record["label"], int(record["n_exits"]), {}, {},
                                               record["sample_id"] if sequence else None, {} if sequence else None))
        if not np.array_equal(run.labels, record["label"]):
            raise DataError(f"run {name!r}: policy {policy!r} was evaluated on other test labels than the rest")
        if sequence != run.sequence:
            raise DataError(f"run {name!r}: policy {policy!r}'s test.json {'has' if sequence else 'lacks'} the "
                            f"samples' sample_id and image_scores, unlike the run's other policies (rerun its cell)")
        if sequence:
            _check_images(name, policy, run, record)
            run.image_scores[policy] = np.asarray(record["image_scores"], dtype=float)
        run.exits[policy], run.predictions[policy] = record["exit_layer"], record["prediction"]
    return runs


def _check_images(name: str, policy: str, run: RunSamples, record: dict) -> None:
    """A sequence record's tokens must belong to the run's images: the same sample_id list, ids 0..n_images − 1."""
    ids, scores = np.asarray(record["sample_id"]), np.asarray(record["image_scores"])
    if not np.array_equal(ids, run.sample_ids):
        raise DataError(f"run {name!r}: policy {policy!r} was evaluated on other test tokens (sample_id) than the rest")
    if run.image_scores:
        expected = run.units
        if len(scores) != expected:
            raise DataError(f"run {name!r}: policy {policy!r} has {len(scores)} image_scores, the run's other "
                            f"policies {expected}")
    if len(ids) and (ids.min() < 0 or ids.max() >= len(scores)):
        raise DataError(f"run {name!r}: policy {policy!r}'s sample_id runs from {ids.min()} to {ids.max()}, outside "
                        f"its {len(scores)} image_scores (images 0..{len(scores) - 1})")


@dataclass
class RunMatrices:
    """One run's decisions for a list of policies: which are present, their exit layers and predictions [P', N]."""

    run: RunSamples
    n_policies: int
    present: list[int]
    exits: np.ndarray
    predictions: np.ndarray

    # sequence runs: per present policy and image, its tokens' exit-layer sum and score; tokens per image
    depth_sums: np.ndarray | None = None
    scores: np.ndarray | None = None
    tokens: np.ndarray | None = None

    @classmethod
    def of(cls, run: RunSamples, policies: list[str]) -> "RunMatrices":
        present = [i for i, policy in enumerate(policies) if policy in run.exits]
        exits = np.stack([run.exits[policies[i]] for i in present])
        matrices = cls(run, len(policies), present, exits, np.stack([run.predictions[policies[i]] for i in present]))
        if run.sequence:
            n_images, ids = run.units, np.asarray(run.sample_ids, dtype=np.int64)
            matrices.tokens = np.bincount(ids, minlength=n_images).astype(float)
            matrices.depth_sums = np.stack([np.bincount(ids, weights=row.astype(float), minlength=n_images)
                                            for row in exits])
            matrices.scores = np.stack([run.image_scores[policies[i]] for i in present])
        return matrices

    def figures(self, metric: str, rows=None) -> tuple[np.ndarray, np.ndarray]:
        """Layer speed-up and metric [P] of each policy on the units `rows` (all when None; samples, or images of
        a sequence run); NaN where a policy has no results in the run."""
        speedups, metrics = np.full(self.n_policies, np.nan), np.full(self.n_policies, np.nan)
        if self.run.sequence:
            speedups[self.present], metrics[self.present] = image_figures(
                self.run.n_exits, self.tokens, self.depth_sums, self.scores, rows)
            return speedups, metrics
        rows = slice(None) if rows is None else rows
        speedups[self.present] = self.run.n_exits / self.exits[:, rows].mean(axis=1)
        metrics[self.present] = task_metrics.primary_rows(metric, self.run.labels[rows], self.predictions[:, rows])
        return speedups, metrics


def image_figures(n_exits: int, tokens: np.ndarray, depth_sums: np.ndarray, scores: np.ndarray,
                  images=None) -> tuple[np.ndarray, np.ndarray]:
    """A sequence task's layer speed-up and metric [P] on a draw of images (indices, with multiplicity; all when
    None): L × (tokens of the drawn images) / (sum of those tokens' exit layers), and the mean of the drawn images'
    scores. `tokens` [n_images], `depth_sums` and `scores` [P, n_images]."""
    if images is not None:
        images = np.asarray(images, dtype=np.int64)
        tokens, depth_sums, scores = tokens[images], depth_sums[:, images], scores[:, images]
    with np.errstate(divide="ignore", invalid="ignore"):
        speedups = n_exits * tokens.sum() / depth_sums.sum(axis=1)
    return speedups, scores.mean(axis=1)


def bootstrap(runs: list[RunMatrices], metric: str, resamples: int = RESAMPLES,
              seed: int = BOOTSTRAP_SEED) -> tuple[np.ndarray, np.ndarray]:
    """Per resample and drawn run, the speed-up and metric of every policy: arrays [B, R, P]. Each resample draws R
    runs with replacement and, in each, its test samples (a sequence run: its images) with replacement — one draw
    shared by every policy, so differences between policies are paired."""
    rng = np.random.default_rng(seed)
    shape = (resamples, len(runs), runs[0].n_policies)
    speedups, metrics = np.empty(shape), np.empty(shape)
    for b in range(resamples):
        for slot, chosen in enumerate(rng.integers(0, len(runs), len(runs))):
            n = runs[chosen].run.units
            speedups[b, slot], metrics[b, slot] = runs[chosen].figures(metric, rng.integers(0, n, n))
    return speedups, metrics


def percentile_interval(values: np.ndarray) -> tuple[float, float]:
    values = values[np.isfinite(values)]
    if not len(values):
        return math.nan, math.nan
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def bootstrap_p(differences: np.ndarray) -> float:
    """Two-sided bootstrap p of a paired difference: twice the share of resamples on the smaller side of 0."""
    differences = differences[np.isfinite(differences)]
    if not len(differences):
        return math.nan
    return float(min(1.0, 2 * min(np.mean(differences <= 0), np.mean(differences >= 0))))


def mean_over_runs(values: np.ndarray, axis: int) -> np.ndarray:
    """Mean over the run axis, ignoring runs without the policy (NaN), NaN where no run has it."""
    counts = np.isfinite(values).sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, np.nansum(values, axis=axis) / counts, np.nan)


def check_limit(run_name: str, policies: list[str], speedups: np.ndarray, drops: np.ndarray, tolerance: float,
                metric: str) -> None:
    """No method within tolerance may beat the limit on the same samples (accuracy: a proven bound)."""
    if metric not in EXACT_LIMIT_METRICS or LIMIT not in policies:
        return
    limit = speedups[policies.index(LIMIT)]
    for policy, speedup, drop in zip(policies, speedups, drops):
        if policy in REFERENCES or not np.isfinite(speedup) or drop > tolerance + 1e-12:
            continue
        if speedup > limit * (1 + 1e-9):
            raise DataError(
                f"run {run_name!r}: policy {policy!r} reaches {speedup:.4f}x within the tolerance on test, above the "
                f"oracle's least depth within it ({limit:.4f}x): its test.json and the oracle's disagree (rerun both "
                f"cells)")


def group_leaderboard(results: pd.DataFrame, curves: pd.DataFrame, runs: dict[str, RunSamples], tolerance: float,
                      metric: str, resamples: int = RESAMPLES) -> pd.DataFrame:
    """The ranked leaderboard of one group of runs (results and curves carry a `run` column; `runs` holds every
    sample's decisions per run)."""
    names = [name for name in dict.fromkeys(results["run"]) if name in runs and "final" in runs[name].exits]
    if not names:
        return pd.DataFrame()
    policies = [p for p in dict.fromkeys(results["policy"]) if not p.endswith(HINDSIGHT)
                and any(p in runs[name].exits for name in names)]
    group = [RunMatrices.of(runs[name], policies) for name in names]
    final = policies.index("final")
    speedups, metrics = (np.stack(figures) for figures in zip(*(run.figures(metric) for run in group)))  # [R, P]
    drops = metrics[:, [final]] - metrics
    for name, run_speedups, run_drops in zip(names, speedups, drops):
        check_limit(name, policies, run_speedups, run_drops, tolerance, metric)
    boot_speedups, boot_metrics = bootstrap(group, metric, resamples)
    boot_drops = boot_metrics[:, :, [final]] - boot_metrics

    board = pd.DataFrame({"policy": policies, "n_runs": np.isfinite(speedups).sum(axis=0)})
    for name, point, boot in (("speedup", speedups, boot_speedups), ("metric", metrics, boot_metrics),
                              ("drop", drops, boot_drops)):
        board[name] = mean_over_runs(point, axis=0)
        intervals = [percentile_interval(column) for column in mean_over_runs(boot, axis=1).T]
        board[f"{name}_low"], board[f"{name}_high"] = zip(*intervals)
    board["runs_within_tolerance"] = (drops <= tolerance + 1e-12).sum(axis=0)
    board["within_tolerance"] = board["drop"] <= tolerance + 1e-12
    board["oracle_share"] = oracle_shares(policies, speedups, board["runs_within_tolerance"], board["n_runs"])
    _add_sweep_figures(board, results, curves, tolerance)

    references = board[board["policy"].isin(REFERENCES)]
    board = board[~board["policy"].isin(REFERENCES)].sort_values(
        ["within_tolerance", "speedup", "metric"], ascending=False, kind="stable")
    board.insert(0, "rank", range(1, len(board) + 1))
    baselines = board[board["policy"].isin(BASELINES)]
    for prefix, reference in (("vs_baseline", baselines["policy"].iloc[0] if len(baselines) else None),
                              ("vs_leader", board["policy"].iloc[0] if len(board) else None)):
        compared = [_paired(policies, speedups, boot_speedups, policy, reference) for policy in board["policy"]]
        board[prefix] = reference
        for key in ("diff", "diff_low", "diff_high", "p", "n_pairs"):
            board[f"{prefix}_{key}"] = [c.get(key, math.nan) for c in compared]
    board = pd.concat([board, references.assign(rank=pd.NA)], ignore_index=True)
    sequence = any(run.run.sequence for run in group)
    return board.assign(resamples=resamples, resampled=IMAGE_UNIT if sequence else SAMPLE_UNIT, metric_name=metric,
                        limit_bound=limit_is_bound(metric)).reset_index(drop=True)


def oracle_shares(policies, speedups, runs_within, n_runs) -> list[float]:
    """Mean share of the limit's saved layers over the runs, (1 − 1/s) / (1 − 1/s_limit), for methods within
    tolerance in every run (NaN otherwise, and where the limit saves nothing)."""
    if LIMIT not in policies:
        return [math.nan] * len(policies)
    limit = speedups[:, [policies.index(LIMIT)]]
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = np.where(limit > 1, (1 - 1 / speedups) / (1 - 1 / limit), np.nan)
    means = mean_over_runs(shares, axis=0)
    return [float(m) if within == n > 0 else math.nan for m, within, n in zip(means, runs_within, n_runs)]


def _paired(policies, speedups, boot_speedups, policy, reference) -> dict[str, float]:
    """Mean paired speed-up difference policy − reference over the runs both have, its bootstrap interval and p."""
    if reference is None or policy == reference:
        return {}
    i, j = policies.index(policy), policies.index(reference)
    both = np.isfinite(speedups[:, i]) & np.isfinite(speedups[:, j])
    if not both.any():
        return {}
    differences = mean_over_runs(boot_speedups[:, :, i] - boot_speedups[:, :, j], axis=1)
    low, high = percentile_interval(differences)
    return {"diff": float(np.mean(speedups[both, i] - speedups[both, j])), "diff_low": low, "diff_high": high,
            "p": bootstrap_p(differences), "n_pairs": int(both.sum())}


def _add_sweep_figures(board: pd.DataFrame, results: pd.DataFrame, curves: pd.DataFrame, tolerance: float) -> None:
    """The secondary, test-sweep columns: best speed-up on the sweep within tolerance (optimistic) and the area."""
    finals = results[results["policy"] == "final"].set_index("run")["metric"]
    best = {}
    for (run, policy), points in curves.groupby(["run", "policy"], sort=False):
        if run in finals.index:
            best.setdefault(policy, []).append(speedup_at_tolerance(points, finals[run], tolerance))
    board["sweep_speedup"] = [float(np.mean(best[p])) if p in best and p not in REFERENCES else math.nan
                              for p in board["policy"]]
    methods = swept_methods(curves)
    anchored = anchored_at_full_model(curves[curves["policy"].isin(methods)], results)
    low, high = common_range(anchored, methods)
    areas: dict[str, list[float]] = {}
    for (run, policy), points in anchored.groupby(["run", "policy"]):
        areas.setdefault(policy, []).append(mean_over_range(*curve_function(points), low, high))
    board["area"] = [float(np.mean(areas[p])) if p in areas else math.nan for p in board["policy"]]
    board["area_low_speedup"], board["area_high_speedup"] = low, high


def task_leaderboard(results: pd.DataFrame, curves: pd.DataFrame, samples: dict[tuple, dict[str, np.ndarray]],
                     tolerance: float, resamples: int = RESAMPLES) -> pd.DataFrame:
    """Leaderboards of a task: one over all runs when the task has several models, then one per model
    (backbone / strategy); column `group` names it. Empty without the `final` policy (the reference of the
    tolerance) or without per-sample results."""
    if "final" not in set(results["policy"]) or not samples:
        return pd.DataFrame()
    metric = str(results["metric_name"].iloc[0])
    runs = runs_of(samples, tolerance)
    results = results.assign(run=model_name(results) + " / seed" + results["seed"].astype(str))
    curves = curves.assign(run=model_name(curves) + " / seed" + curves["seed"].astype(str))
    models = list(dict.fromkeys(model_name(results)))
    groups = ([(ALL_RUNS, None)] if len(models) > 1 else []) + [(model, model) for model in models]
    boards = []
    for name, model in groups:
        chosen_results = results if model is None else results[model_name(results) == model]
        chosen_curves = curves if model is None else curves[model_name(curves) == model]
        board = group_leaderboard(chosen_results, chosen_curves, runs, tolerance, metric, resamples)
        if len(board):
            boards.append(board.assign(group=name))
    if not boards:
        return pd.DataFrame()
    board = pd.concat(boards, ignore_index=True)
    return board[["group", *[c for c in board.columns if c != "group"]]]


# ---- presentation -------------------------------------------------------------------------------------------


def _interval(mean: float, low: float, high: float, digits: int, suffix: str = "") -> str:
    if pd.isna(mean):
        return "–"
    text = f"{mean:.{digits}f}{suffix}"
    return text + (f" [{low:.{digits}f}, {high:.{digits}f}]" if pd.notna(low) else " [n = 1]")


def _p_value(p: float, resamples: int) -> str:
    if pd.isna(p):
        return "p: –"
    return f"p < {1 / resamples:.2g}" if p == 0 else f"p = {p:.2g}"  # p = 0: no resample on the other side of 0


def _comparison(row: pd.Series, prefix: str) -> str:
    if row["policy"] == row[prefix] or pd.isna(row[f"{prefix}_diff"]):
        return "–"
    return (f"{row[f'{prefix}_diff']:+.2f}× [{row[f'{prefix}_diff_low']:+.2f}, {row[f'{prefix}_diff_high']:+.2f}], "
            f"{_p_value(row[f'{prefix}_p'], row['resamples'])}")


def _tolerance_cell(row: pd.Series) -> str:
    if row["policy"] in REFERENCES:
        return "–"
    return f"{'yes' if row['within_tolerance'] else 'NO'} ({row['runs_within_tolerance']} of {row['n_runs']} runs)"


def _bound(board: pd.DataFrame) -> bool:
    """Whether the group's limit row is a proven bound (boards written before the column existed: accuracy's)."""
    return bool(board["limit_bound"].iloc[0]) if "limit_bound" in board and len(board) else True


def _unit(board: pd.DataFrame) -> str:
    return str(board["resampled"].iloc[0]) if "resampled" in board and len(board) else SAMPLE_UNIT


def _limit_rank(board: pd.DataFrame) -> str:
    return "limit" if _bound(board) else "reference (no bound)"


def display_table(board: pd.DataFrame, metric_name: str, tolerance: float) -> pd.DataFrame:
    """One group's leaderboard as text cells (the Markdown and HTML tables)."""
    metric_name = metric_label(metric_name)
    low, high = board["area_low_speedup"].iloc[0], board["area_high_speedup"].iloc[0]
    area_header = (f"test sweep: mean {metric_name} over {low:.2f}–{high:.2f}×" if high > low
                   else "test sweep: area (no speed-up range common to all methods)")
    baseline = board["vs_baseline"].dropna().iloc[0] if board["vs_baseline"].notna().any() else "baseline"
    leader = board["vs_leader"].dropna().iloc[0] if board["vs_leader"].notna().any() else "leader"
    return pd.DataFrame({
        "rank": [_limit_rank(board) if policy == LIMIT else "reference" if pd.isna(r) else str(r)
                 for r, policy in zip(board["rank"], board["policy"])],
        "policy": board["policy"],
        "speed-up (fitted on val)": [_interval(m, lo, hi, 2, "×") for m, lo, hi in
                                     zip(board["speedup"], board["speedup_low"], board["speedup_high"])],
        metric_name: [_interval(m, lo, hi, 4) for m, lo, hi in
                      zip(board["metric"], board["metric_low"], board["metric_high"])],
        "drop vs final": [_interval(m, lo, hi, 4) for m, lo, hi in
                          zip(board["drop"], board["drop_low"], board["drop_high"])],
        f"drop ≤ {tolerance:g} on test": [_tolerance_cell(row) for _, row in board.iterrows()],
        "share of oracle's saved layers": ["–" if pd.isna(s) else f"{s:.0%}" for s in board["oracle_share"]],
        f"vs best baseline ({baseline})": [_comparison(row, "vs_baseline") for _, row in board.iterrows()],
        f"vs leader ({leader})": [_comparison(row, "vs_leader") for _, row in board.iterrows()],
        f"best on test sweep — optimistic (drop ≤ {tolerance:g})": [
            "–" if pd.isna(v) else f"{v:.2f}×" for v in board["sweep_speedup"]],
        area_header: ["–" if pd.isna(v) else f"{v:.4f}" for v in board["area"]],
        "runs": board["n_runs"],
    })


def _noise(row: pd.Series, prefix: str) -> str:
    if pd.isna(row[f"{prefix}_diff_low"]):
        return "not testable"
    beyond = row[f"{prefix}_diff_low"] > 0 or row[f"{prefix}_diff_high"] < 0
    return "beyond noise" if beyond else "not beyond noise"


def verdict(board: pd.DataFrame, tolerance: float) -> str:
    """The leader (the fastest method within tolerance on test, knobs fitted on val), its margin over the best
    baseline with its interval and whether that margin is beyond noise, the number of runs, and the limit."""
    ranked = board[board["rank"].notna()]
    if ranked.empty:
        return "No method has results."
    leader = ranked.iloc[0]
    runs = int(leader["n_runs"])
    if not leader["within_tolerance"]:
        text = (f"No method keeps its drop within {tolerance:g} on test with the knobs fitted on val; the fastest is "
                f"**{leader['policy']}** at " + _interval(leader["speedup"], leader["speedup_low"],
                                                          leader["speedup_high"], 2, "×")
                + f" with a drop of {leader['drop']:.4f}")
    else:
        text = (f"**{leader['policy']}** is the fastest method within a drop of {tolerance:g} on test (knobs fitted "
                f"on val): " + _interval(leader["speedup"], leader["speedup_low"], leader["speedup_high"], 2, "×")
                + f", drop {leader['drop']:.4f}")
    baseline = leader["vs_baseline"]
    if pd.isna(baseline):
        text += "; no baseline (final, static-k) ran to compare with"
    elif baseline == leader["policy"]:
        text += "; it is itself a baseline: no adaptive method is faster within the tolerance"
    else:
        text += (f"; over the best baseline **{baseline}** by {leader['vs_baseline_diff']:+.2f}× "
                 f"[{leader['vs_baseline_diff_low']:+.2f}, {leader['vs_baseline_diff_high']:+.2f}] "
                 f"(paired bootstrap, {_p_value(leader['vs_baseline_p'], leader['resamples'])}): {_noise(leader, 'vs_baseline')}")
    text += f". {runs} run{'s' if runs != 1 else ''}"
    if runs < FEW_RUNS:
        text += (f": too few seeds to show seed-to-seed spread (the intervals resample the {_unit(board)}"
                 f"{' of the one run' if runs == 1 else ' and these runs'})")
    limit = board[board["policy"] == LIMIT]
    if len(limit) and not _bound(board):
        text += (f". The oracle's least depth within the tolerance (found token by token) reaches "
                 f"{limit['speedup'].iloc[0]:.2f}×: a reference, not a bound, since "
                 f"{metric_label(board['metric_name'].iloc[0])} is no sum over tokens")
        if pd.notna(leader["oracle_share"]):
            text += f"; the leader saves {leader['oracle_share']:.0%} of the layers it saves"
    elif len(limit):
        text += f". The oracle's least depth within the tolerance reaches {limit['speedup'].iloc[0]:.2f}×"
        if pd.notna(leader["oracle_share"]):
            text += f"; the leader saves {leader['oracle_share']:.0%} of the layers it saves"
        else:  # oracle_shares gives none unless the method is within tolerance in every run
            text += "; no share of its saved layers for the leader, whose drop exceeds the tolerance in some run"
    return text + "."


def notes(tolerance: float, board: pd.DataFrame | None = None) -> str:
    """The protocol in a paragraph; `board` says what the bootstrap resampled and whether the limit is a bound."""
    board = pd.DataFrame() if board is None else board
    unit, bound = _unit(board), _bound(board)
    text = (
        f"Headline figures: each method's knobs fitted on val, evaluated on test — speed-up is the layer speed-up "
        f"(L / mean exit layer), drop is the final exit's metric minus the method's. Ranked: methods whose mean drop "
        f"is at most {tolerance:g} first, by speed-up. Intervals: {INTERVAL_NAME.format(unit=unit)}, so speed-ups "
        f"stay >= 1× and metrics in range. Comparisons: mean paired difference in speed-up over the same resamples; "
        f"beyond noise when the interval excludes 0. "
    )
    if unit == IMAGE_UNIT:
        text += ("A caption task decides per generated token but scores whole captions: each resample draws test "
                 "images, a method's metric is the mean of its drawn images' scores and its speed-up L × tokens / "
                 "summed exit layers of those images' tokens. ")
    if bound:
        text += (f"The limit is the oracle's least mean depth whose test metric stays within {tolerance:g} of the "
                 f"final exit's (it reads the labels: not ranked); the share of its saved layers is shown for methods "
                 f"within the tolerance in every run. ")
    else:
        text += (f"The row 'oracle · least depth within tolerance' is the oracle's least mean depth, chosen token by "
                 f"token, whose test metric stays within {tolerance:g} of the final exit's: for this metric it is a "
                 f"reference, not a proven bound (the metric is no sum over tokens), so a method may pass it and its "
                 f"share of saved layers may exceed 100 %. ")
    return text + ("The oracle's earliest correct exit is a second reference. The test-sweep columns read each "
                   "method's knob sweep on test with hindsight (optimistic); they never enter the ranking.")


def leaderboard_markdown(board: pd.DataFrame, metric_name: str, tolerance: float, level: str = "##") -> str:
    """The notes, then per group (heading `level`) the verdict and the ranked table."""
    if board.empty:
        return NO_LEADERBOARD + "\n"
    parts = [notes(tolerance, board) + "\n"]
    for group, rows in board.groupby("group", sort=False):
        parts.append(f"{level} {group}\n\n{verdict(rows, tolerance)}\n\n"
                     f"{display_table(rows, metric_name, tolerance).to_markdown(index=False)}\n")
    return "\n".join(parts)


NO_LEADERBOARD = ("No leaderboard: it needs the `final` policy, whose metric the tolerance is measured from, and "
                  "test.json files with every sample's decisions (rerun the policy cells written before they had them).")


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
            f'<tr class="{"limit" if str(r).startswith(("limit", "reference")) else "leader" if r == "1" else ""}">'
            + "".join(f"<td>{html.escape(str(v))}</td>" for v in values) + "</tr>"
            for r, values in zip(table["rank"], table.itertuples(index=False))
        )
        sentence = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", html.escape(verdict(rows, tolerance)))
        sections.append(f"<h2>{html.escape(group)}</h2><p>{sentence}</p><table><tr>{head}</tr>{body}</table>")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(task)} leaderboard</title>"
            f"<style>{STYLE}</style></head><body><h1>{html.escape(task)}: which method wins</h1>"
            + "".join(sections) + f"<p class='note'>{html.escape(notes(tolerance, board))}</p></body></html>\n")
