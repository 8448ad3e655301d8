"""The report's "Paper vs eebench" section: each published figure or claim (published.csv) beside our measurement on
the closest setting, with a verdict (holds / does not hold / not comparable) and the difference in setting.

Which claims a task can answer: a published task names an eebench task id (`sst2`, `cola`, …), `glue` (every GLUE
task), `text classification` (every text classification task), `domain shift` (a task whose test holds domains
that train does not), an image dataset or `image classification` (every image task), or `any`. Everything else
is counted as not comparable to the task.

One rule per claim kind (RULE_TEXT, printed in the section and in the README). Our metrics are shown in points
(× 100, as the papers print GLUE); "1 point" is 0.01 of a 0–1 metric. Speed-ups are layer counts on both sides,
so hardware does not enter them."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .leaderboard import speedup_at_tolerance

HOLDS, FAILS, NOT_COMPARABLE = "holds", "does not hold", "not comparable"
POINT = 0.01  # one point of a 0–1 metric
BEEM_SPEEDUP = 1.5  # the low end of BEEM's "1.5x to 2.1x"
SURVEY_CONFIDENT, SURVEY_MARGIN = 0.80, 0.10  # "~80 %", read as 70–90 %
SURVEY_SAVED = 0.40  # the low end of "40–80 % saved"
NOT_A_METHOD = ("final", "static-k", "oracle")  # the full model, a fixed shallower model, the label-reading limit

RULE_TEXT = {
    "final": "final-exit figure: our final exit's test metric; holds when ours ≥ published − 1 point, judged only "
             "on the same backbone and a named metric (otherwise shown as a reference, not comparable)",
    "relative": "method vs final at a speed-up: our Δ = method − final (same run) and our layer speed-up; holds when "
                "our Δ ≥ published Δ − 1 point and our speed-up ≥ theirs",
    "beem-speedup": "BEEM 1.5–2.1× close to the final layer: each beem policy's layer speed-up ≥ 1.5 with a drop "
                    "against the final exit ≤ 1 point",
    "beem-accuracy": "BEEM at least as accurate as the final layer: each beem policy's Δ against the final exit ≥ 0",
    "monotone": "BEEM's assumption: exit error falls monotonically with depth on test (checks.json, significant "
                "rises only); holds when it holds on every run",
    "pcee-target": "PCEE accuracy ≥ δ: checks.json's PCEE targets over every δ the final exit can reach, every run; "
                   "holds when every attainable target holds",
    "larger-vs-smaller": "PCEE larger vs smaller at equal FLOPs: the larger backbone's best PCEE point whose FLOPs are "
                         "at most the smaller model's full FLOPs, against the smaller model's final exit, same seed; "
                         "holds when the larger one's error is lower",
    "confident-share": "survey's ~80 % confident at initial layers: checks.json's confident share; holds within "
                       "80 % ± 10 points",
    "saved": "survey's 40–80 % computation saved: 1 − 1/speed-up of the best exit method (not final, static-k or "
             "the oracle) within the tolerance (largest test speed-up of its sweep); holds when ≥ 40 %",
    "domain-shift": "dynamic thresholds under domain shift: on each shifted test domain, the metric drop against the "
                    "final exit of ucb and of maxprob (a static threshold fitted on source val); holds when maxprob "
                    "drops by more than the tolerance and ucb by less than maxprob",
    "replication": "someone else's run, not the paper's: shown beside ours as a reference, never judged",
}


@dataclass
class TaskSetting:
    """What the claims need to know of the task being aggregated."""

    name: str
    modality: str | None = None
    n_classes: int | None = None
    train_size: int | None = None
    shifted_domains: list[str] = field(default_factory=list)
    train_capped: bool = False  # train is a seeded subset (option max_train)

    @property
    def text(self) -> bool:
        return self.modality in ("text", "text-pair")

    @property
    def classification(self) -> bool:
        return self.n_classes is None or self.n_classes > 1


def task_setting(task: str, info: dict) -> TaskSetting:
    """From the task's info.json: modality, classes, train size, and the test domains that train does not have."""
    splits = info.get("splits", {})

    def domains(split: str) -> list[str]:
        return list(splits.get(split, {}).get("meta_distribution", {}).get("domain", {}))

    train = splits.get("train", {}).get("size")
    shifted = [d for d in domains("test") if d not in domains("train")]
    capped = bool(info.get("options", {}).get("max_train"))
    return TaskSetting(task, info.get("modality"), info.get("n_classes"), train, shifted, capped)


def glue_tasks() -> set[str]:
    from ..tasks.glue import FORMATS

    return {fmt.task for fmt in FORMATS}


IMAGE_DATASETS = re.compile(r"image classification|cifar|imagenet|mnist", re.IGNORECASE)


def comparable(published_task: str, task: TaskSetting) -> bool:
    """Whether a published row's task can be compared on the aggregated task."""
    name = published_task.strip().lower()
    if name == "any" or name == task.name:
        return True
    if name.startswith("glue"):
        return task.name in glue_tasks()
    if name.startswith("text classification"):
        return task.text and task.classification
    if name.startswith("domain shift"):
        return bool(task.shifted_domains)
    if IMAGE_DATASETS.search(name):
        return task.modality == "image"
    return False


def rule_of(row: pd.Series) -> str | None:
    """The comparison rule of a published row, or None when eebench has none."""
    method, metric = row["method"].lower(), row["metric"].lower()
    if row["kind"] == "replication":
        return "replication"
    if method.startswith("final"):
        return "final"
    if method == "patience" and row["speedup"]:
        return "relative"
    if method == "beem":
        return {"speedup vs final layer": "beem-speedup", "accuracy vs final layer": "beem-accuracy",
                "assumption": "monotone"}.get(metric)
    if method == "pcee":
        return {"accuracy >= delta": "pcee-target", "error at equal flops": "larger-vs-smaller"}.get(metric)
    if metric.startswith("share of 'confident'"):
        return "confident-share"
    if metric == "computation saved":
        return "saved"
    if method == "ucb":
        return "domain-shift"
    return None


@dataclass
class Measurements:
    """What the aggregate read: per-cell results and curves (aggregate.collect_*), each run's checks.json, and the
    plain full model's FLOPs per run ((backbone, strategy, seed) → FLOPs; empty when not given)."""

    results: pd.DataFrame
    curves: pd.DataFrame
    checks: list[tuple[dict, dict]]  # (run, checks.json)
    full_model_flops: dict[tuple, float]
    tolerance: float


COLUMNS = ["paper", "source", "claim", "published", "eebench setting", "eebench", "seeds", "verdict", "why / setting",
           "rule", "published line", "eebench mean", "eebench std"]


def paper_comparison(published: pd.DataFrame, task: TaskSetting, measured: Measurements) -> tuple[pd.DataFrame, int]:
    """The rows of published claims comparable to `task`, each with ours and a verdict; and the number of
    published rows not comparable to this task."""
    rows, skipped = [], 0
    for _, claim in published.iterrows():
        if not comparable(claim["task"], task):
            skipped += 1
            continue
        rule = rule_of(claim)
        base = {"paper": claim["paper"], "source": claim["source"], "claim": claim_text(claim),
                "published": published_text(claim), "rule": rule or "none", "published line": claim["line"]}
        outcomes = RULES[rule](claim, task, measured, published) if rule else [
            _outcome("–", "", NOT_COMPARABLE, "eebench has no comparison rule for this claim")]
        outcomes = outcomes or [_outcome("–", "", NOT_COMPARABLE, "this grid has no run with the policies the rule needs")]
        rows += [{**base, **outcome} for outcome in outcomes]
    return pd.DataFrame(rows, columns=COLUMNS), skipped


def claim_text(claim: pd.Series) -> str:
    parts = [claim["metric"], claim["method"], claim["backbone"], claim["task"], claim["split"]]
    return " · ".join(part for part in parts if part)


def published_text(claim: pd.Series) -> str:
    """The figure as printed, at its speed-up; a claim without a figure is quoted (its `note`)."""
    if not claim["value"]:
        return f"“{claim['note']}”" if claim["note"] else "–"
    return f"{claim['value']} at {claim['speedup']}×" if claim["speedup"] else claim["value"]


def _outcome(ours: str, setting: str, verdict: str, why: str, seeds: int | str = "", mean=math.nan, std=math.nan) -> dict:
    return {"eebench": ours, "eebench setting": setting, "verdict": verdict, "why / setting": why, "seeds": seeds,
            "eebench mean": mean, "eebench std": std}


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


def _mean_std(values) -> tuple[float, float]:
    values = np.asarray(list(values), dtype=float)
    return float(values.mean()), float(values.std(ddof=0))


def _points(values) -> str:
    mean, std = _mean_std(np.asarray(list(values), dtype=float) / POINT)
    return f"{mean:.1f} ± {std:.1f}"


def _models(results: pd.DataFrame):
    return results.groupby(["backbone", "strategy"], sort=False)


def _paired(model: pd.DataFrame, policy: str, column: str = "metric") -> pd.DataFrame:
    """Per seed: the policy's `column` and the final exit's, on the same run."""
    final = model[model["policy"] == "final"].set_index("seed")[column]
    chosen = model[model["policy"] == policy].set_index("seed")
    return pd.DataFrame({"method": chosen[column], "final": final, "speedup": chosen["layer_speedup"]}).dropna()


def _setting(claim: pd.Series, backbone: str, task: TaskSetting) -> str:
    size = f"ours trained on {task.train_size} examples" if task.train_size else "our train size not recorded"
    size += " (a seeded subset of train)" if task.train_capped else ""
    if task.name in glue_tasks():
        split = f"published {claim['split'] or 'not stated'}, ours test = the GLUE dev set"
    else:
        split = f"published {claim['split'] or 'not stated'}, ours test"
    return f"backbone {claim['backbone'] or 'not stated'} vs {backbone}; data: {size}; split: {split}"


def _metric_named(claim: pd.Series) -> bool:
    return "not stated" not in claim["metric"]


def rule_final(claim, task, measured, published) -> list[dict]:
    value, outcomes = _number(claim["value"]), []
    for (backbone, strategy), model in _models(measured.results):
        finals = model[model["policy"] == "final"]["metric"]
        if finals.empty:
            continue
        mean, std = _mean_std(finals / POINT)
        setting = _setting(claim, backbone, task)
        if claim["backbone"] != backbone or not _metric_named(claim) or "no early exit" in claim["method"]:
            reasons = [r for r, bad in (
                ("backbone differs", claim["backbone"] != backbone),
                ("the source does not say which metric", not _metric_named(claim)),
                ("a fully fine-tuned model without exits, an upper reference", "no early exit" in claim["method"]),
            ) if bad]
            verdict, why = NOT_COMPARABLE, "; ".join(reasons) + f" — ours shown as a reference. {setting}"
        else:
            verdict = HOLDS if mean >= value - 1 else FAILS
            why = f"ours {mean:.1f} vs published {value:.1f} − 1 point. {setting}"
        outcomes.append(_outcome(f"final {mean:.1f} ± {std:.1f}", f"{backbone}/{strategy}/final", verdict, why,
                                 len(finals), mean, std))
    return outcomes


def _published_final(claim: pd.Series, published: pd.DataFrame) -> float:
    same = published[(published["paper"] == claim["paper"]) & (published["backbone"] == claim["backbone"])
                     & (published["task"] == claim["task"]) & (published["method"] == "final")]
    return _number(same["value"].iloc[0]) if len(same) else math.nan


def _delta_at_speedup(pairs: pd.DataFrame) -> tuple[float, float, float, str]:
    """Mean and std of Δ = method − final in points, the mean layer speed-up, and the text of both."""
    mean, std = _mean_std((pairs["method"] - pairs["final"]) / POINT)
    speed_mean, speed_std = _mean_std(pairs["speedup"])
    return mean, std, speed_mean, f"Δ {mean:+.1f} ± {std:.1f} points at {speed_mean:.2f} ± {speed_std:.2f}×"


def rule_relative(claim, task, measured, published) -> list[dict]:
    delta, speedup = _number(claim["value"]) - _published_final(claim, published), _number(claim["speedup"])
    outcomes = []
    for (backbone, strategy), model in _models(measured.results):
        pairs = _paired(model, claim["method"])
        if pairs.empty:
            continue
        mean, std, speed_mean, ours = _delta_at_speedup(pairs)
        setting = _setting(claim, backbone, task) + "; speed-ups are layer counts on both sides"
        if math.isnan(delta):
            verdict, why = NOT_COMPARABLE, f"the source gives no final-exit figure for this row. {setting}"
        elif not _metric_named(claim):
            verdict, why = NOT_COMPARABLE, f"the source does not say which metric (published Δ {delta:+.1f}). {setting}"
        else:
            holds = mean >= delta - 1 and speed_mean >= speedup
            verdict = HOLDS if holds else FAILS
            why = (f"published Δ {delta:+.1f} at {speedup:.2f}×; ours Δ {mean:+.2f} "
                   f"{'≥' if mean >= delta - 1 else '<'} {delta - 1:+.2f} and {speed_mean:.2f}× "
                   f"{'≥' if speed_mean >= speedup else '<'} {speedup:.2f}×. {setting}")
        outcomes.append(_outcome(ours, f"{backbone}/{strategy}/{claim['method']}", verdict, why, len(pairs), mean, std))
    return outcomes


def _beem_policies(results: pd.DataFrame) -> list[str]:
    return [p for p in dict.fromkeys(results["policy"]) if p.startswith("beem")]


def rule_beem(claim, task, measured, published, speedup_bound: float | None) -> list[dict]:
    outcomes = []
    policies = _beem_policies(measured.results)
    for (backbone, strategy), model in _models(measured.results):
        for policy in policies:
            pairs = _paired(model, policy)
            if pairs.empty:
                continue
            mean, std, speed_mean, ours = _delta_at_speedup(pairs)
            setting = _setting(claim, backbone, task)
            if speedup_bound is None:
                verdict = HOLDS if mean >= 0 else FAILS
                why = f"Δ {mean:+.2f} {'≥' if mean >= 0 else '<'} 0; the abstract does not name its 'easier' tasks. {setting}"
            else:
                holds = speed_mean >= speedup_bound and mean >= -1
                verdict = HOLDS if holds else FAILS
                why = (f"speed-up {speed_mean:.2f}× {'≥' if speed_mean >= speedup_bound else '<'} {speedup_bound}× and "
                       f"drop {-mean:.2f} {'≤' if mean >= -1 else '>'} 1 point. {setting}")
            outcomes.append(_outcome(ours, f"{backbone}/{strategy}/{policy}", verdict, why, len(pairs), mean, std))
    if not policies:
        outcomes.append(_outcome("–", "", NOT_COMPARABLE, "no beem policy in this grid"))
    return outcomes


def _runs_text(runs: list[dict]) -> str:
    models = sorted({f"{run['backbone']}/{run['strategy']}" for run in runs})
    return ", ".join(models)


def rule_monotone(claim, task, measured, published) -> list[dict]:
    verdicts = [checks["errors"]["test"]["monotone_decreasing"] for _, checks in measured.checks]
    runs = [run for run, _ in measured.checks]
    if not verdicts:
        return [_outcome("–", "", NOT_COMPARABLE, "no checks.json for this task")]
    k, n = sum(bool(v) for v in verdicts), len(verdicts)
    return [_outcome(f"holds on {k} of {n} runs", _runs_text(runs), HOLDS if k == n else FAILS,
                     f"test error per exit, significant rises only (McNemar, checks.json); {n - k} run(s) with a rise",
                     n, k / n)]


def _pcee_status(target: dict) -> str:
    if "status" in target:
        return target["status"]
    return "unattainable" if target.get("holds") is None else ("holds" if target["holds"] else "fails")


def rule_pcee_target(claim, task, measured, published) -> list[dict]:
    statuses = [(target["delta"], _pcee_status(target)) for _, checks in measured.checks
                for target in checks.get("pcee_targets", [])]
    attainable = [(delta, status) for delta, status in statuses if status != "unattainable"]
    runs = [run for run, _ in measured.checks]
    setting = f"backbone {claim['backbone']} vs {_runs_text(runs)}; dataset {claim['task']} vs {task.name}"
    if not attainable:
        return [_outcome("–", _runs_text(runs), NOT_COMPARABLE, f"no attainable δ in checks.json. {setting}")]
    held = [delta for delta, status in attainable if status == "holds"]
    failed = sorted({delta for delta, status in attainable if status != "holds"})
    ours = (f"holds for {len(held)} of {len(attainable)} attainable (δ, run) pairs over {len(runs)} runs; "
            f"{len(statuses) - len(attainable)} unattainable")
    why = ("every attainable target holds" if not failed else f"fails at δ = {', '.join(map(str, failed))}")
    return [_outcome(ours, _runs_text(runs), HOLDS if not failed else FAILS, f"{why}. {setting}", len(runs),
                     len(held) / len(attainable))]


def rule_confident(claim, task, measured, published) -> list[dict]:
    categorised = [(run, checks["categories"]) for run, checks in measured.checks if "categories" in checks]
    if not categorised:
        return [_outcome("–", "", NOT_COMPARABLE, "no sample categories in checks.json")]
    runs = [run for run, _ in categorised]
    shares = [categories["shares"]["confident"] for _, categories in categorised]
    threshold = categorised[0][1].get("confidence_threshold")
    mean, std = _mean_std(np.asarray(shares) / POINT)
    holds = abs(mean / 100 - SURVEY_CONFIDENT) <= SURVEY_MARGIN
    why = (f"{mean:.1f} % {'within' if holds else 'outside'} 80 % ± 10 points; ours judged at the first early exit with "
           f"max probability ≥ {threshold} (the survey's threshold is not in the quoted text); backbone "
           f"{claim['backbone']} vs {_runs_text(runs)}")
    return [_outcome(f"{mean:.1f} ± {std:.1f} % confident", _runs_text(runs), HOLDS if holds else FAILS, why,
                     len(shares), mean, std)]


def rule_saved(claim, task, measured, published) -> list[dict]:
    results, curves, outcomes = measured.results, measured.curves, []
    for (backbone, strategy), model in _models(results):
        finals = model[model["policy"] == "final"].set_index("seed")["metric"]
        best: dict[str, list[float]] = {}
        model_curves = curves[(curves["backbone"] == backbone) & (curves["strategy"] == strategy)]
        for (policy, seed), points in model_curves.groupby(["policy", "seed"]):
            if policy in NOT_A_METHOD or seed not in finals.index:
                continue
            speedup = speedup_at_tolerance(points, finals[seed], measured.tolerance)
            best.setdefault(policy, []).append(1 - 1 / speedup)
        if not best:
            continue
        winner = max(best, key=lambda policy: np.mean(best[policy]))
        mean, std = _mean_std(np.asarray(best[winner]) / POINT)
        holds = mean / 100 >= SURVEY_SAVED
        why = (f"best method {winner} saves {mean:.1f} % of layers {'≥' if holds else '<'} 40 % at a test drop ≤ "
               f"{measured.tolerance / POINT:g} point(s); layers, not wall-clock. {_setting(claim, backbone, task)}")
        outcomes.append(_outcome(f"{mean:.1f} ± {std:.1f} % saved ({winner})", f"{backbone}/{strategy}/{winner}",
                                 HOLDS if holds else FAILS, why, len(best[winner]), mean, std))
    return outcomes


def rule_domain_shift(claim, task, measured, published) -> list[dict]:
    outcomes = []
    for (backbone, strategy), model in _models(measured.results):
        for domain in task.shifted_domains:
            column = f"{domain}/metric"
            if column not in model.columns:
                continue
            drops = {policy: _paired(model, policy, column) for policy in ("ucb", "maxprob")}
            if any(pairs.empty for pairs in drops.values()):
                outcomes.append(_outcome("–", f"{backbone}/{strategy}", NOT_COMPARABLE, "needs both ucb and maxprob"))
                continue
            ucb, maxprob = ((pairs["final"] - pairs["method"]) / POINT for pairs in drops.values())
            (ucb_mean, ucb_std), (max_mean, max_std) = _mean_std(ucb), _mean_std(maxprob)
            static_fails = max_mean > measured.tolerance / POINT
            holds = static_fails and ucb_mean < max_mean
            why = (f"on {domain}: maxprob's drop {max_mean:.1f} {'>' if static_fails else '≤'} tolerance "
                   f"{measured.tolerance / POINT:g}, ucb's {ucb_mean:.1f} {'<' if ucb_mean < max_mean else '≥'} "
                   f"maxprob's. {_setting(claim, backbone, task)}")
            outcomes.append(_outcome(f"{domain} drop: ucb {ucb_mean:.1f} ± {ucb_std:.1f}, maxprob {max_mean:.1f} ± "
                                     f"{max_std:.1f} points", f"{backbone}/{strategy}", HOLDS if holds else FAILS,
                                     why, len(ucb), ucb_mean, ucb_std))
    return outcomes or [_outcome("–", "", NOT_COMPARABLE, "no per-domain results of a shifted domain")]


def rule_larger_vs_smaller(claim, task, measured, published) -> list[dict]:
    flops, results = measured.full_model_flops, measured.results
    sizes = {}
    for (backbone, strategy, seed) in results[["backbone", "strategy", "seed"]].drop_duplicates().itertuples(index=False):
        if (backbone, strategy, seed) in flops:
            sizes.setdefault((backbone, strategy), {})[seed] = flops[(backbone, strategy, seed)]
    outcomes = []
    for strategy in dict.fromkeys(s for _, s in sizes):
        models = sorted((b for b, s in sizes if s == strategy), key=lambda b: np.mean(list(sizes[(b, strategy)].values())))
        for smaller, larger in zip(models, models[1:]):
            outcomes.append(_compare_sizes(claim, measured, strategy, smaller, larger, sizes))
    if not outcomes:
        return [_outcome("–", "", NOT_COMPARABLE, "needs two backbones of this task with full-model FLOPs (costs.json)")]
    return outcomes


def _compare_sizes(claim, measured, strategy, smaller, larger, sizes) -> dict:
    results, curves = measured.results, measured.curves
    pairs, cheapest = [], []  # cheapest: (FLOPs of the larger model's cheapest PCEE point, the smaller's budget)
    for seed, budget in sizes[(smaller, strategy)].items():
        small_final = results[(results["backbone"] == smaller) & (results["strategy"] == strategy)
                              & (results["seed"] == seed) & (results["policy"] == "final")]["metric"]
        points = curves[(curves["backbone"] == larger) & (curves["strategy"] == strategy) & (curves["seed"] == seed)
                        & curves["policy"].str.startswith("pcee")]
        if small_final.empty or points.empty or seed not in sizes[(larger, strategy)]:
            continue
        spent = sizes[(larger, strategy)][seed] / points["flops_speedup"]
        cheapest.append((spent.min(), budget))
        affordable = points["metric"][spent <= budget]
        if len(affordable):
            pairs.append((1 - affordable.max(), 1 - small_final.iloc[0]))
    setting = f"{larger} + PCEE vs {smaller}, {strategy}"
    if not cheapest:
        return _outcome("–", setting, NOT_COMPARABLE, f"no pcee policy's sweep on {larger}")
    if not pairs:
        spent, budget = np.mean(cheapest, axis=0)
        return _outcome("–", setting, NOT_COMPARABLE, f"{larger}'s cheapest PCEE point spends {spent:.3g} FLOPs, more "
                        f"than {smaller}'s full model ({budget:.3g}): no equal-FLOPs point")
    large_error, small_error = (np.asarray(v) / POINT for v in zip(*pairs))
    (large_mean, large_std), (small_mean, small_std) = _mean_std(large_error), _mean_std(small_error)
    holds = large_mean < small_mean
    why = (f"error {large_mean:.1f} {'<' if holds else '≥'} {small_mean:.1f} at ≤ the smaller model's FLOPs; "
           f"backbones {claim['backbone']} (published) vs {larger}/{smaller}; dataset {claim['task']}")
    return _outcome(f"error {large_mean:.1f} ± {large_std:.1f} % vs {small_mean:.1f} ± {small_std:.1f} %", setting,
                    HOLDS if holds else FAILS, why, len(pairs), large_mean, large_std)


def rule_replication(claim, task, measured, published) -> list[dict]:
    outcomes = []
    for (backbone, strategy), model in _models(measured.results):
        pairs = _paired(model, claim["method"])
        if pairs.empty:
            continue
        mean, std = _mean_std(pairs["method"] / POINT)
        used, _ = _mean_std(1 / pairs["speedup"])
        outcomes.append(_outcome(f"{claim['method']} {mean:.1f} ± {std:.1f}, {used:.3f} of layers used",
                                 f"{backbone}/{strategy}/{claim['method']}", NOT_COMPARABLE,
                                 f"a user's replication, not a paper figure: a reference only. {_setting(claim, backbone, task)}",
                                 len(pairs), mean, std))
    return outcomes or [_outcome("–", "", NOT_COMPARABLE, f"no {claim['method']} policy in this grid")]


RULES = {
    "final": rule_final,
    "relative": rule_relative,
    "beem-speedup": lambda *args: rule_beem(*args, speedup_bound=BEEM_SPEEDUP),
    "beem-accuracy": lambda *args: rule_beem(*args, speedup_bound=None),
    "monotone": rule_monotone,
    "pcee-target": rule_pcee_target,
    "larger-vs-smaller": rule_larger_vs_smaller,
    "confident-share": rule_confident,
    "saved": rule_saved,
    "domain-shift": rule_domain_shift,
    "replication": rule_replication,
}

SHOWN = ["paper", "source", "claim", "published", "eebench setting", "eebench", "seeds", "verdict", "why / setting"]


def paper_markdown(table: pd.DataFrame, skipped: int) -> str:
    """The section's Markdown: how the comparison is made, the table, and how many rows are not comparable here."""
    rules = [rule for rule in RULE_TEXT if rule in set(table["rule"])]
    text = ("Each published figure or claim (with its source) beside ours on the closest setting: mean ± std over "
            "seeds, our metrics in points (× 100). Layer-count speed-ups on both sides. Rules used here:\n\n"
            + "".join(f"- {RULE_TEXT[rule]}\n" for rule in rules) + "\n")
    body = table[SHOWN].to_markdown(index=False) if len(table) else "No published claim compares with this task."
    return f"{text}{body}\n\n{skipped} other published rows are not comparable to this task's setting (another task, " \
           f"modality or data)."


def read_measurements(results: pd.DataFrame, curves: pd.DataFrame, check_paths, cost_paths, tolerance: float) -> Measurements:
    """The runs' checks.json and the plain full model's FLOPs from their costs.json (files without that field are
    left out: the larger-vs-smaller rule then says it lacks them)."""
    from ..io import read_json
    from ..layout import parse_run

    def key(run: dict) -> tuple:
        return run["backbone"], run["strategy"], run["seed"]

    checks = [(parse_run(path), read_json(path)) for path in check_paths]
    flops = {}
    for path in cost_paths:
        costs = read_json(path)
        if costs.get("full_model_flops"):
            flops[key(parse_run(path))] = float(costs["full_model_flops"])
    return Measurements(results, curves, checks, flops, tolerance)


def paper_html(table: pd.DataFrame, skipped: int, task: str) -> str:
    """A self-contained page of the section for the HTML report: the rules, the table, the count left out."""
    import html

    from .leaderboard import STYLE

    rules = "".join(f"<li>{html.escape(RULE_TEXT[rule])}</li>" for rule in RULE_TEXT if rule in set(table["rule"]))
    body = (table[SHOWN].to_html(index=False, escape=True, border=0) if len(table)
            else "<p>No published claim compares with this task.</p>")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(task)}: paper vs eebench</title>"
            f"<style>{STYLE}</style></head><body><h2>{html.escape(task)}: paper vs eebench</h2>"
            f"<p class='note'>Each published figure or claim with its source, beside ours on the closest setting (mean ± "
            f"std over seeds, metrics in points, × 100; layer-count speed-ups). Rules used here:</p><ul class='note'>"
            f"{rules}</ul>{body}<p class='note'>{skipped} other published rows are not comparable to this task's "
            f"setting.</p></body></html>")
