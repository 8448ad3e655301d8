"""The report's "Paper vs eebench" section: each published figure or claim (published.csv) beside our measurement on
the closest setting, with a verdict (holds / does not hold / not comparable) and the difference in setting.

Which claims a task can answer: a published task names an eebench task id (`sst2`, `cola`, …), `glue` (every GLUE
task), `text classification` (every text classification task), `domain shift` (a task whose test holds domains
that train does not), an image dataset or `image classification` (every image task), a caption dataset
(`coco-captions`, `image captioning`: every caption task), or `any`. Everything else is counted as not comparable
to the task. A caption claim on another caption task than its own (COCO's claims on the offline shapes-captions)
is shown with our figures as a reference, verdict "not comparable" (different data).

One rule per claim kind (RULE_TEXT, printed in the section and in docs/report.md by reference). Our metrics are shown in points
(× 100, as the papers print GLUE); "1 point" is 0.01 of a 0–1 metric. Speed-ups are layer counts on both sides,
so hardware does not enter them.

**Matched cost.** A rule that sets two methods (or a method and a published figure) against each other reads both
at the same cost: a method's test curve (its knob sweep, curve.csv) is interpolated at the other side's operating
point — a published speed-up, or the val-fitted point of the other method evaluated on test (the `results` rows).
Interpolation (`sweep_at`) sorts a sweep by speed-up, averages the metric over points of equal speed-up, is linear
between points and never extrapolates: a speed-up outside the sweep's range is "not comparable: no curve point at
that speed-up". Rules that set a method against the final exit only (its own fitted point, cheaper than the final
exit) need no matching.

**Seed noise.** Each verdict is decided by per-seed margins (our figure minus the bound it must reach, same run).
When the 95 % Student-t interval over seeds of a deciding margin includes 0 (always with one seed), the verdict
carries NOISE ("— within seed noise") and the why says which margin: too few seeds to separate."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from ..policies.stages import DOMAIN_SEPARATOR
from ..captioning.data import MODALITY as CAPTION_MODALITY

HOLDS, FAILS, NOT_COMPARABLE = "holds", "does not hold", "not comparable"
NOISE = " — within seed noise"  # appended to holds / does not hold when the seeds cannot separate the margin
VERDICTS = (HOLDS, FAILS, HOLDS + NOISE, FAILS + NOISE, NOT_COMPARABLE)
CONFIDENCE = 0.95  # of the t-interval over seeds that decides whether a margin is beyond seed noise
NOISE_TEXT = (f"A verdict marked “{NOISE.strip(' —')}” rests on a margin whose {CONFIDENCE * 100:g} % t-interval over "
              "seeds includes 0 (always with one seed): too few seeds to separate.")
NO_CURVE_POINT = "not comparable: no curve point at that speed-up"
POINT = 0.01  # one point of a 0–1 metric
BEEM_SPEEDUP = 1.5  # the low end of BEEM's "1.5x to 2.1x"
SURVEY_CONFIDENT, SURVEY_MARGIN = 0.80, 0.10  # "~80 %", read as 70–90 %
SURVEY_SAVED = 0.40  # the low end of "40–80 % saved"
SAVED_SPEEDUP = 1 / (1 - SURVEY_SAVED)  # 40 % of the layers saved = a layer speed-up of 1.67×
NOT_A_METHOD = ("final", "static-k", "oracle")  # the full model, a fixed shallower model, the label-reading limit
DYNAMIC, STATIC_THRESHOLD = "ucb", "maxprob"  # the domain-shift claim: bandit thresholds vs a threshold fitted on val
BRANCHYNET = "BranchyNet"  # the paper whose MNIST rows the branchynet rule reads
BRANCHYNET_T = re.compile(r"threshold T = ([0-9.]+)")  # in the B-LeNet row's note: their entropy threshold
BRANCHED = {"lenet": "b-lenet"}  # a published plain network → eebench's branched twin, whose final exit it is
BRANCHYNET_SHARE = re.compile(r"([0-9.]+) % of test samples leave at exit 1")  # and the share leaving at the branch

RULE_TEXT = {
    "final": "final-exit figure: our final exit's test metric per seed; holds when ours ≥ published − 1 point, judged "
             "only on the same backbone and a named metric (otherwise shown as a reference, not comparable)",
    "relative": "method vs final at a speed-up: per seed, our method's test curve interpolated at the published "
                "speed-up (matched cost), Δ = that − our final exit (same run); holds when our Δ ≥ published Δ − 1 "
                "point; not comparable where our curve does not reach that speed-up. Our val-fitted point is shown "
                "beside it",
    "beem-speedup": "BEEM 1.5–2.1× close to the final layer: per seed, each beem policy's test curve interpolated at "
                    "1.5× (matched to the claim's low end); holds when its drop against the final exit there ≤ 1 "
                    "point; not comparable where the curve does not reach 1.5×",
    "beem-accuracy": "BEEM at least as accurate as the final layer: each beem policy's val-fitted point on test, which "
                     "spends fewer layers than the final exit (so the cost favours the final exit); holds when its Δ "
                     "against the final exit ≥ 0; not comparable when it exits no sample early",
    "beem-comparable": "BEEM comparable to the final layer (captioning): each beem policy's val-fitted point on test; "
                       "holds when its drop against the final exit ≤ 1 point (CIDEr-D × 100); not comparable when it "
                       "exits no token early",
    "close-at-speedup": "a method at a published speed-up with a metric close to the final layer's: per seed, the "
                        "method's test curve interpolated at the published speed-up (the low end of a range; matched "
                        "cost); holds when its drop against the final exit there ≤ 1 point; not comparable where the "
                        "curve does not reach that speed-up",
    "monotone": "BEEM's assumption: exit error falls monotonically with depth on test (checks.json, significant "
                "rises only); holds when it holds on every run",
    "pcee-target": "PCEE accuracy ≥ δ: checks.json's PCEE targets over every δ the final exit can reach, every run; "
                   "holds when every attainable target holds",
    "larger-vs-smaller": "PCEE larger vs smaller at equal FLOPs: per seed and pcee policy, the larger backbone's test "
                         "curve interpolated at the FLOPs of the smaller model's full forward pass (FLOPs speed-up = "
                         "larger's full FLOPs / smaller's), against the smaller model's final exit, same seed; holds "
                         "when the larger one's error is lower; not comparable where the curve does not reach that "
                         "cost",
    "confident-share": "survey's ~80 % confident at initial layers: checks.json's confident share per run; holds "
                       "within 80 % ± 10 points",
    "saved": "survey's 40–80 % computation saved: per seed, each exit method's (not final, static-k or the oracle) "
             "test curve interpolated at 40 % of layers saved (1.67×), its drop against the final exit there; holds "
             "when the method with the least mean drop (picked on test, among all methods) drops ≤ the tolerance",
    "domain-shift": "dynamic thresholds under domain shift, on each shifted test domain, with drops against the final "
                    "exit on the same domain and relative drop = shifted domain's drop − in-domain drop (mean over the "
                    "test domains train has): holds when (a) maxprob (a static threshold fitted on source val) at its "
                    "own fitted point has a relative drop above the tolerance, and (b) at ucb's own speed-up on each "
                    "domain (maxprob's per-domain test curve interpolated there, matched cost) ucb's relative drop is "
                    "smaller than maxprob's; without per-domain curves (b) is not comparable at matched cost, and "
                    "only a failed (a) is judged",
    "replication": "someone else's run, not the paper's: shown beside ours as a reference, never judged",
    "branchynet": "BranchyNet's MNIST row (LeNet; B-LeNet at the entropy threshold T): accuracy levels are shown as a "
                  "reference, never judged (the authors trained on MNIST's 60,000 training images); per seed and "
                  "entropy policy (their fixed T, and T fitted on val), the share of test samples leaving at the "
                  "branch, the MAC speed-up and the CPU wall-clock gain of real early exit at batch size 1 against "
                  "the plain network (latency.json); holds when our gain ≥ the published gain (ours includes the "
                  "branch's own compute, theirs did not)",
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

    @property
    def captions(self) -> bool:
        return self.modality == CAPTION_MODALITY


def task_setting(task: str, info: dict) -> TaskSetting:
    """From the task's info.json: modality, classes, train size, and the test domains that train does not have
    (a caption task's info.json: ``"kind": "captioning"`` and images per split under ``sizes``)."""
    if info.get("kind") == "captioning" or info.get("modality") == CAPTION_MODALITY:
        return TaskSetting(task, CAPTION_MODALITY, 0, info.get("sizes", {}).get("train"), [],
                           bool(info.get("options", {}).get("max_train")))
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
CAPTION_DATASETS = re.compile(r"caption|coco|flickr", re.IGNORECASE)


def caption_claim(published_task: str) -> bool:
    return bool(CAPTION_DATASETS.search(published_task))


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
    if caption_claim(name):
        return task.captions
    if IMAGE_DATASETS.search(name):
        return task.modality == "image"
    return False


def rule_of(row: pd.Series) -> str | None:
    """The comparison rule of a published row, or None when eebench has none."""
    method, metric = row["method"].lower(), row["metric"].lower()
    if row["kind"] == "replication":
        return "replication"
    if row["paper"].startswith(BRANCHYNET):
        return "branchynet"
    if method.startswith("final"):
        return "final"
    if method == "patience" and row["speedup"]:
        return "relative"
    if method == "beem":
        return {"speedup vs final layer": "beem-speedup", "accuracy vs final layer": "beem-accuracy",
                "comparable to final layer": "beem-comparable", "assumption": "monotone"}.get(metric)
    if metric == "speedup vs final layer" and row["speedup"]:
        return "close-at-speedup"
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
    samples: dict[tuple, dict] = field(default_factory=dict)  # aggregate.collect_samples: test samples per cell
    latency: pd.DataFrame = field(default_factory=pd.DataFrame)  # aggregate.latency_table's rows
    policy_params: dict[str, tuple[str, dict]] = field(default_factory=dict)  # policy name → (method, params)


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
        if caption_claim(claim["task"]) and claim["task"].strip().lower() != task.name:
            outcomes = [_other_data(outcome, claim, task) for outcome in outcomes]
        rows += [{**base, **outcome} for outcome in outcomes]
    return pd.DataFrame(rows, columns=COLUMNS), skipped


def _other_data(outcome: dict, claim: pd.Series, task: TaskSetting) -> dict:
    """A caption claim read on another caption task: ours stays as a reference, never judged."""
    reading = ("" if outcome["verdict"] == NOT_COMPARABLE
               else f" (on these figures the rule reads: {outcome['verdict']})")
    return {**outcome, "verdict": NOT_COMPARABLE,
            "why / setting": f"different data: published on {claim['task']}, ours on {task.name} — ours shown as a "
                             f"reference{reading}. {outcome['why / setting']}"}


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


# --- matched cost: a sweep read at a given speed-up -------------------------------------------------------------

def sweep_at(points: pd.DataFrame, speedup: float, x: str = "layer_speedup", y: str = "metric") -> float:
    """The sweep's metric at `speedup`, linear between its points, NaN outside its range (never extrapolated).

    Points are sorted by speed-up (column `x`) and points of equal speed-up averaged (`y`), so a sweep whose knob
    values reach the same speed-up twice, or come in any order, reads as one function. Rows with a missing `x` or
    `y` (e.g. no FLOPs, or no per-domain figure) are left out; a frame without the columns reads as NaN."""
    lo, hi, xs, ys = _sweep(points, x, y)
    if not np.isfinite(speedup) or not lo - 1e-9 <= speedup <= hi + 1e-9:
        return math.nan
    return float(np.interp(speedup, xs, ys))


def sweep_span(points: pd.DataFrame, x: str = "layer_speedup", y: str = "metric") -> tuple[float, float]:
    """The speed-up range a sweep covers (NaN, NaN when it has no point)."""
    lo, hi, _, _ = _sweep(points, x, y)
    return lo, hi


def _sweep(points: pd.DataFrame, x: str, y: str):
    if x not in points.columns or y not in points.columns:
        return math.nan, math.nan, np.empty(0), np.empty(0)
    frame = pd.DataFrame({"x": pd.to_numeric(points[x], errors="coerce"),
                          "y": pd.to_numeric(points[y], errors="coerce")}).dropna()
    if frame.empty:
        return math.nan, math.nan, np.empty(0), np.empty(0)
    by_x = frame.groupby("x")["y"].mean().sort_index()
    xs, ys = by_x.index.to_numpy(float), by_x.to_numpy(float)
    return float(xs[0]), float(xs[-1]), xs, ys


def _span_text(spans: list[tuple[float, float]], unit: str = "×") -> str:
    spans = [span for span in spans if np.isfinite(span[0])]
    if not spans:
        return "no curve points"
    return "its test sweep spans " + ", ".join(dict.fromkeys(f"{lo:.2f}–{hi:.2f}{unit}" for lo, hi in spans))


def _curve(curves: pd.DataFrame, backbone: str, strategy: str, policy: str, seed) -> pd.DataFrame:
    if curves.empty:
        return curves
    return curves[(curves["backbone"] == backbone) & (curves["strategy"] == strategy) & (curves["policy"] == policy)
                  & (curves["seed"] == seed)]


# --- seed noise: which verdict the per-seed margins support ------------------------------------------------------

@dataclass
class Margin:
    """One condition of a rule: per-seed margins (our figure minus the bound, in points); met when their mean is
    ≥ 0 (> 0 when `strict`)."""

    name: str
    values: np.ndarray
    strict: bool = False

    def __post_init__(self):
        self.values = np.asarray(self.values, dtype=float)

    @property
    def mean(self) -> float:
        return float(self.values.mean())

    @property
    def met(self) -> bool:
        return self.mean > 0 if self.strict else self.mean >= 0

    def interval(self) -> tuple[float, float]:
        """95 % Student-t interval of the mean over seeds; (NaN, NaN) with one seed."""
        n = len(self.values)
        if n < 2:
            return math.nan, math.nan
        half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1) * self.values.std(ddof=1) / math.sqrt(n))
        return self.mean - half, self.mean + half

    @property
    def separated(self) -> bool:
        """Whether the interval lies on one side of 0 (a margin equal on every seed counts as separated)."""
        lo, hi = self.interval()
        if not np.isfinite(lo):
            return False
        return lo > 0 or hi < 0 or lo == hi


def judge(*margins: Margin) -> tuple[str, str]:
    """The verdict of a rule whose conditions are `margins` (holds when all are met) and a sentence on seed noise.

    Holds beyond noise when every margin is separated from 0; does not hold beyond noise when a margin that is not
    met is separated. Otherwise the verdict carries NOISE and the sentence names the margins the seeds cannot
    separate (too few seeds)."""
    failed = [margin for margin in margins if not margin.met]
    verdict = FAILS if failed else HOLDS
    deciding = failed or list(margins)
    if (any if failed else all)(margin.separated for margin in deciding):
        n = max(len(margin.values) for margin in margins)
        return verdict, f"beyond seed noise ({n} seeds, {CONFIDENCE * 100:g} % t-interval)"
    unclear = [margin for margin in deciding if not margin.separated]
    if all(len(margin.values) < 2 for margin in unclear):
        return verdict + NOISE, "one seed: seed noise unknown, too few seeds to separate"
    parts = [f"{margin.name} {margin.mean:+.2f} [{margin.interval()[0]:+.2f}, {margin.interval()[1]:+.2f}] over "
             f"{len(margin.values)} seeds" for margin in unclear]
    return verdict + NOISE, (f"too few seeds to separate: the {CONFIDENCE * 100:g} % t-interval includes 0 for "
                             + "; ".join(parts))


# --- the rules ---------------------------------------------------------------------------------------------------

def _models(results: pd.DataFrame):
    return results.groupby(["backbone", "strategy"], sort=False)


def _paired(model: pd.DataFrame, policy: str, column: str = "metric") -> pd.DataFrame:
    """Per seed: the policy's `column` and the final exit's, on the same run."""
    final = model[model["policy"] == "final"].set_index("seed")[column]
    chosen = model[model["policy"] == policy].set_index("seed")
    return pd.DataFrame({"method": chosen[column], "final": final, "speedup": chosen["layer_speedup"]}).dropna()


def _finals(model: pd.DataFrame) -> pd.Series:
    return model[model["policy"] == "final"].set_index("seed")["metric"].dropna()


def _setting(claim: pd.Series, backbone: str, task: TaskSetting) -> str:
    unit = "images" if task.captions else "examples"
    size = f"ours trained on {task.train_size} {unit}" if task.train_size else "our train size not recorded"
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
            verdict, noise = judge(Margin("ours − (published − 1)", finals / POINT - (value - 1)))
            why = f"ours {mean:.1f} vs published {value:.1f} − 1 point; {noise}. {setting}"
        outcomes.append(_outcome(f"final {mean:.1f} ± {std:.1f}", f"{backbone}/{strategy}/final", verdict, why,
                                 len(finals), mean, std))
    return outcomes


def _published_final(claim: pd.Series, published: pd.DataFrame) -> float:
    same = published[(published["paper"] == claim["paper"]) & (published["backbone"] == claim["backbone"])
                     & (published["task"] == claim["task"]) & (published["method"] == "final")]
    return _number(same["value"].iloc[0]) if len(same) else math.nan


def _fitted_text(pairs: pd.DataFrame) -> str:
    """The val-fitted point on test: Δ against the final exit and the layer speed-up, mean ± std over seeds."""
    if pairs.empty:
        return "no val-fitted point"
    mean, std = _mean_std((pairs["method"] - pairs["final"]) / POINT)
    speed_mean, speed_std = _mean_std(pairs["speedup"])
    return f"Δ {mean:+.1f} ± {std:.1f} points at {speed_mean:.2f} ± {speed_std:.2f}×"


def _deltas_at(measured: Measurements, backbone: str, strategy: str, model: pd.DataFrame, policy: str,
               speedup: float) -> tuple[pd.Series, list[tuple[float, float]]]:
    """Per seed: Δ = the policy's test curve at `speedup` − the final exit (points), seeds whose curve reaches it;
    and each seed's curve span (for the message when none does)."""
    finals, deltas, spans = _finals(model), {}, []
    for seed, final in finals.items():
        points = _curve(measured.curves, backbone, strategy, policy, seed)
        spans.append(sweep_span(points))
        value = sweep_at(points, speedup)
        if np.isfinite(value):
            deltas[seed] = (value - final) / POINT
    return pd.Series(deltas, dtype=float), spans


def rule_relative(claim, task, measured, published) -> list[dict]:
    delta, speedup = _number(claim["value"]) - _published_final(claim, published), _number(claim["speedup"])
    method, outcomes = claim["method"], []
    for (backbone, strategy), model in _models(measured.results):
        fitted = _paired(model, method)
        deltas, spans = _deltas_at(measured, backbone, strategy, model, method, speedup)
        if fitted.empty and not any(np.isfinite(lo) for lo, _ in spans):
            continue
        setting = _setting(claim, backbone, task) + "; speed-ups are layer counts on both sides"
        fitted_text = f"fitted on val: {_fitted_text(fitted)}"
        where = f"{backbone}/{strategy}/{method}"
        if math.isnan(delta):
            outcomes.append(_outcome(fitted_text, where, NOT_COMPARABLE,
                                     f"the source gives no final-exit figure for this row. {setting}", len(fitted)))
        elif not _metric_named(claim):
            outcomes.append(_outcome(fitted_text, where, NOT_COMPARABLE, f"the source does not say which metric "
                                     f"(published Δ {delta:+.1f}). {setting}", len(fitted)))
        elif deltas.empty:
            outcomes.append(_outcome(fitted_text, where, NOT_COMPARABLE,
                                     f"{NO_CURVE_POINT} ({speedup:.2f}×; {_span_text(spans)}). {setting}"))
        else:
            mean, std = _mean_std(deltas)
            verdict, noise = judge(Margin("Δ − (published Δ − 1)", deltas - (delta - 1)))
            reached = "" if len(deltas) == len(spans) else f" ({len(deltas)} of {len(spans)} seeds' curves reach it)"
            why = (f"at the published {speedup:.2f}× (matched cost){reached}: ours Δ {mean:+.2f} "
                   f"{'≥' if mean >= delta - 1 else '<'} published Δ {delta:+.1f} − 1 = {delta - 1:+.2f}; {noise}; "
                   f"ours {fitted_text}. {setting}")
            outcomes.append(_outcome(f"Δ {mean:+.1f} ± {std:.1f} points at {speedup:.2f}× (test curve); {fitted_text}",
                                     where, verdict, why, len(deltas), mean, std))
    return outcomes


def _beem_policies(results: pd.DataFrame) -> list[str]:
    return [p for p in dict.fromkeys(results["policy"]) if p.startswith("beem")]


def _low_end(speedup: str) -> float:
    """The published speed-up, or the low end of a range ("1.5-2.1" → 1.5); NaN when none is printed."""
    return _number(re.split(r"\s*[-–]\s*", speedup.strip())[0]) if speedup and speedup.strip() else math.nan


def rule_close_at(claim, task, measured, published) -> list[dict]:
    """A method (the claim's policy id) close to the final layer at the published speed-up."""
    method = claim["method"]
    policies = [method] if method in set(measured.results["policy"]) else []
    return rule_beem(claim, task, measured, published, speedup_bound=_low_end(claim["speedup"]), policies=policies)


def rule_beem_comparable(claim, task, measured, published) -> list[dict]:
    """BEEM comparable to the final layer: each beem policy's val-fitted point drops ≤ 1 point."""
    outcomes = []
    policies = _beem_policies(measured.results)
    for (backbone, strategy), model in _models(measured.results):
        for policy in policies:
            fitted = _paired(model, policy)
            if fitted.empty:
                continue
            setting, where = _setting(claim, backbone, task), f"{backbone}/{strategy}/{policy}"
            if (fitted["speedup"] <= 1 + 1e-9).all():
                outcomes.append(_outcome(f"fitted on val: {_fitted_text(fitted)}", where, NOT_COMPARABLE,
                                         "exits nothing early on test (1.00×): Δ = 0 says nothing of early exit. "
                                         f"{setting}", len(fitted)))
                continue
            deltas = (fitted["method"] - fitted["final"]) / POINT
            mean, std = _mean_std(deltas)
            verdict, noise = judge(Margin("1 point − drop", 1 + deltas))
            why = (f"val-fitted point on test, at fewer layers than the final exit: drop {(-mean) or 0.0:.2f} "
                   f"{'≤' if -mean <= 1 else '>'} 1 point; {noise}; the abstract reads 'comparable' with no "
                   f"number: 1 point is eebench's reading. {setting}")
            outcomes.append(_outcome(_fitted_text(fitted), where, verdict, why, len(fitted), mean, std))
    if not policies:
        outcomes.append(_outcome("–", "", NOT_COMPARABLE, "no beem policy in this grid"))
    return outcomes


def rule_beem(claim, task, measured, published, speedup_bound: float | None, policies=None) -> list[dict]:
    outcomes = []
    named = policies is not None
    policies = _beem_policies(measured.results) if policies is None else policies
    for (backbone, strategy), model in _models(measured.results):
        for policy in policies:
            fitted = _paired(model, policy)
            setting, where = _setting(claim, backbone, task), f"{backbone}/{strategy}/{policy}"
            fitted_text = f"fitted on val: {_fitted_text(fitted)}"
            if speedup_bound is None:
                if fitted.empty:
                    continue
                deltas = (fitted["method"] - fitted["final"]) / POINT
                mean, std = _mean_std(deltas)
                if (fitted["speedup"] <= 1 + 1e-9).all():
                    outcomes.append(_outcome(fitted_text, where, NOT_COMPARABLE, "exits no sample early on test "
                                             f"(1.00×): Δ = 0 says nothing of early exit. {setting}", len(fitted)))
                    continue
                verdict, noise = judge(Margin("Δ", deltas))
                why = (f"val-fitted point on test, at fewer layers than the final exit: Δ {mean:+.2f} "
                       f"{'≥' if mean >= 0 else '<'} 0; {noise}; the abstract does not name its 'easier' tasks. "
                       f"{setting}")
                outcomes.append(_outcome(_fitted_text(fitted), where, verdict, why, len(fitted), mean, std))
                continue
            deltas, spans = _deltas_at(measured, backbone, strategy, model, policy, speedup_bound)
            if fitted.empty and not any(np.isfinite(lo) for lo, _ in spans):
                continue
            if deltas.empty:
                outcomes.append(_outcome(fitted_text, where, NOT_COMPARABLE, f"{NO_CURVE_POINT} ({speedup_bound}×; "
                                         f"{_span_text(spans)}). {setting}"))
                continue
            drop, std = _mean_std(-deltas)
            verdict, noise = judge(Margin("1 point − drop", 1 + deltas))
            why = (f"at {speedup_bound}× on the test curve (the published speed-up, a range's low end): drop "
                   f"{drop:.2f} {'≤' if drop <= 1 else '>'} 1 point; {noise}; {fitted_text}. {setting}")
            outcomes.append(_outcome(f"drop {drop:.1f} ± {std:.1f} points at {speedup_bound}× (test curve); "
                                     f"{fitted_text}", where, verdict, why, len(deltas), -drop, std))
    if not policies:
        outcomes.append(_outcome("–", "", NOT_COMPARABLE,
                                 f"no {claim['method'] if named else 'beem'} policy in this grid"))
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
    shares = np.asarray(shares, dtype=float) / POINT
    mean, std = _mean_std(shares)
    low, high = (SURVEY_CONFIDENT - SURVEY_MARGIN) / POINT, (SURVEY_CONFIDENT + SURVEY_MARGIN) / POINT
    verdict, noise = judge(Margin(f"share − {low:g} %", shares - low), Margin(f"{high:g} % − share", high - shares))
    within = verdict.startswith(HOLDS)
    why = (f"{mean:.1f} % {'within' if within else 'outside'} 80 % ± 10 points; {noise}; ours judged at the first "
           f"early exit with max probability ≥ {threshold} (the survey's threshold is not in the quoted text); "
           f"backbone {claim['backbone']} vs {_runs_text(runs)}")
    return [_outcome(f"{mean:.1f} ± {std:.1f} % confident", _runs_text(runs), verdict, why, len(shares), mean, std)]


def rule_saved(claim, task, measured, published) -> list[dict]:
    results, curves, outcomes = measured.results, measured.curves, []
    tolerance = measured.tolerance / POINT
    at = SAVED_SPEEDUP
    for (backbone, strategy), model in _models(results):
        finals = _finals(model)
        model_curves = (curves[(curves["backbone"] == backbone) & (curves["strategy"] == strategy)] if len(curves)
                        else curves)
        methods = [policy for policy in dict.fromkeys(model_curves.get("policy", [])) if policy not in NOT_A_METHOD]
        if finals.empty or not methods:
            continue
        drops, spans = {}, []
        for policy in methods:
            deltas, policy_spans = _deltas_at(measured, backbone, strategy, model, policy, at)
            spans += policy_spans
            if len(deltas):
                drops[policy] = -deltas
        setting = _setting(claim, backbone, task)
        if not drops:
            outcomes.append(_outcome("–", f"{backbone}/{strategy}", NOT_COMPARABLE, f"{NO_CURVE_POINT} ({at:.2f}×, "
                                     f"40 % saved; {_span_text(spans)}). {setting}"))
            continue
        winner = min(drops, key=lambda policy: drops[policy].mean())
        mean, std = _mean_std(drops[winner])
        within = [policy for policy in drops if drops[policy].mean() <= tolerance]
        verdict, noise = judge(Margin("tolerance − drop", tolerance - drops[winner]))
        fitted = _paired(model, winner)
        why = (f"at {at:.2f}× (40 % of layers saved) on each method's test curve, {winner} drops least: {mean:.2f} "
               f"{'≤' if mean <= tolerance else '>'} tolerance {tolerance:g} point(s); {noise}; within tolerance "
               f"there: "
               f"{', '.join(within) or 'none'} of {len(drops)} methods (picked on test, so the best of several); "
               f"{winner} fitted on val: {_fitted_text(fitted)}; layers, not wall-clock. {setting}")
        outcomes.append(_outcome(f"drop {mean:.1f} ± {std:.1f} points at 40 % saved ({winner})",
                                 f"{backbone}/{strategy}/{winner}", verdict, why, len(drops[winner]), mean, std))
    return outcomes


def _domain(column: str, figure: str) -> str | None:
    suffix = f"{DOMAIN_SEPARATOR}{figure}"
    return column[: -len(suffix)] if column.endswith(suffix) else None


def _relative_drop(drops: dict[str, float], shifted: str, in_domain: list[str]) -> float:
    """The shifted domain's drop minus the mean drop over the in-domain test domains (NaN if any is missing)."""
    return drops[shifted] - float(np.mean([drops[domain] for domain in in_domain]))


def rule_domain_shift(claim, task, measured, published) -> list[dict]:
    results, outcomes = measured.results, []
    tolerance = measured.tolerance / POINT
    domains = [d for d in (_domain(c, "metric") for c in results.columns) if d is not None]
    in_domain = [d for d in domains if d not in task.shifted_domains]
    for (backbone, strategy), model in _models(results):
        for domain in task.shifted_domains:
            if f"{domain}{DOMAIN_SEPARATOR}metric" not in model.columns:
                continue
            where = f"{backbone}/{strategy}"
            if not {DYNAMIC, STATIC_THRESHOLD, "final"} <= set(model["policy"]):
                outcomes.append(_outcome("–", where, NOT_COMPARABLE, f"needs {DYNAMIC}, {STATIC_THRESHOLD} and final"))
                continue
            if not in_domain:
                outcomes.append(_outcome("–", where, NOT_COMPARABLE, f"on {domain}: the test stream has no in-domain "
                                         "test domain, so the drop due to the shift cannot be told from early exit's"))
                continue
            outcomes.append(_shift_outcome(claim, task, measured, backbone, strategy, model, domain, in_domain,
                                           tolerance))
    return outcomes or [_outcome("–", "", NOT_COMPARABLE, "no per-domain results of a shifted domain")]


def _shift_outcome(claim, task, measured, backbone, strategy, model, domain, in_domain, tolerance) -> dict:
    both = [domain, *in_domain]

    def figure(policy: str, seed, name: str, dom: str) -> float:
        rows = model[(model["policy"] == policy) & (model["seed"] == seed)]
        column = f"{dom}{DOMAIN_SEPARATOR}{name}"
        return float(rows[column].iloc[0]) if len(rows) and column in rows.columns else math.nan

    ucb_rel, own_rel, matched_rel, ucb_speed, own_speed, seeds, has_columns = {}, {}, {}, [], [], [], True
    for seed in _finals(model).index:
        final = {dom: figure("final", seed, "metric", dom) for dom in both}
        ucb = {dom: figure(DYNAMIC, seed, "metric", dom) for dom in both}
        static = {dom: figure(STATIC_THRESHOLD, seed, "metric", dom) for dom in both}
        speed = {dom: figure(DYNAMIC, seed, "layer_speedup", dom) for dom in both}
        if not all(np.isfinite(v) for d in (final, ucb, static, speed) for v in d.values()):
            continue
        seeds.append(seed)
        ucb_rel[seed] = _relative_drop({d: (final[d] - ucb[d]) / POINT for d in both}, domain, in_domain)
        own_rel[seed] = _relative_drop({d: (final[d] - static[d]) / POINT for d in both}, domain, in_domain)
        ucb_speed.append(speed[domain])
        own_speed.append(figure(STATIC_THRESHOLD, seed, "layer_speedup", domain))
        points = _curve(measured.curves, backbone, strategy, STATIC_THRESHOLD, seed)
        columns = [f"{d}{DOMAIN_SEPARATOR}{name}" for d in both for name in ("metric", "layer_speedup")]
        if not set(columns) <= set(points.columns):
            has_columns = False
            continue
        matched = {d: sweep_at(points, speed[d], f"{d}{DOMAIN_SEPARATOR}layer_speedup", f"{d}{DOMAIN_SEPARATOR}metric")
                   for d in both}
        if all(np.isfinite(v) for v in matched.values()):
            matched_rel[seed] = _relative_drop({d: (final[d] - matched[d]) / POINT for d in both}, domain, in_domain)
    where, setting = f"{backbone}/{strategy}", _setting(claim, backbone, task)
    if not seeds:
        return _outcome("–", where, NOT_COMPARABLE, f"on {domain}: no seed with final, {DYNAMIC} and "
                        f"{STATIC_THRESHOLD} figures on every test domain")
    ucb_values, own_values = pd.Series(ucb_rel), pd.Series(own_rel)
    (ucb_mean, ucb_std), (own_mean, own_std) = _mean_std(ucb_values), _mean_std(own_values)
    in_text = ", ".join(in_domain)
    reference = (f"relative drops (drop on {domain} − mean drop on {in_text}, points): {DYNAMIC} {ucb_mean:.2f} at "
                 f"{np.mean(ucb_speed):.2f}×, {STATIC_THRESHOLD} at its own fitted point {own_mean:.2f} at "
                 f"{np.mean(own_speed):.2f}× on {domain}")
    static_fails = Margin(f"{STATIC_THRESHOLD}'s relative drop − tolerance", own_values - tolerance, strict=True)
    premise = (f"(a) {STATIC_THRESHOLD}'s relative drop at its own point {own_mean:.2f} "
               f"{'>' if static_fails.met else '≤'} tolerance {tolerance:g}")
    ours = f"{domain}, relative drop: {DYNAMIC} {ucb_mean:.1f} ± {ucb_std:.1f}"
    if not matched_rel:
        if has_columns:
            missing = (f"{NO_CURVE_POINT}: {STATIC_THRESHOLD}'s per-domain test curve does not reach {DYNAMIC}'s "
                       "speed-up")
        else:
            missing = (f"not comparable at matched cost: curve.csv has no per-domain columns ({domain}/metric, "
                       f"{domain}/layer_speedup and the same for {in_text}) to read {STATIC_THRESHOLD} at {DYNAMIC}'s "
                       "speed-up")
        ours += f", {STATIC_THRESHOLD} at its own point {own_mean:.1f} ± {own_std:.1f} points (not matched)"
        if static_fails.met:
            return _outcome(ours, where, NOT_COMPARABLE, f"on {domain}: {premise}, but (b) is {missing}. Unmatched "
                            f"reference: {reference}. {setting}", len(seeds), ucb_mean, ucb_std)
        verdict, noise = judge(static_fails)
        return _outcome(ours, where, verdict, f"on {domain}: {premise}: the static threshold does not fail under "
                        f"this shift; {noise}; (b) is {missing}. {reference[0].upper()}{reference[1:]}. {setting}",
                        len(seeds), ucb_mean, ucb_std)
    matched_values = pd.Series(matched_rel)
    matched_mean, matched_std = _mean_std(matched_values)
    fixes = Margin(f"{STATIC_THRESHOLD}'s relative drop at {DYNAMIC}'s speed-up − {DYNAMIC}'s",
                   matched_values - ucb_values[matched_values.index], strict=True)
    verdict, noise = judge(static_fails, fixes)
    reached = "" if len(matched_rel) == len(seeds) else f" ({len(matched_rel)} of {len(seeds)} seeds' curves reach it)"
    why = (f"on {domain}: {premise}; (b) at {DYNAMIC}'s own speed-up on each domain (matched cost){reached}, "
           f"{STATIC_THRESHOLD}'s relative drop {matched_mean:.2f} {'>' if fixes.met else '≤'} {DYNAMIC}'s "
           f"{ucb_values[matched_values.index].mean():.2f}; {noise}. {reference[0].upper()}{reference[1:]}. {setting}")
    ours += (f", {STATIC_THRESHOLD} at {DYNAMIC}'s speed-up {matched_mean:.1f} ± {matched_std:.1f}, at its own point "
             f"{own_mean:.1f} ± {own_std:.1f} points")
    return _outcome(ours, where, verdict, why, len(matched_rel), ucb_mean, ucb_std)


def size_pairs(measured: Measurements) -> tuple[list[tuple[str, str, str]], dict]:
    """The model sizes a task compares: per strategy, its backbones with full-model FLOPs ordered by their mean, each
    next pair as (strategy, smaller, larger); and the FLOPs per (backbone, strategy) and seed."""
    flops, results = measured.full_model_flops, measured.results
    sizes = {}
    for (backbone, strategy, seed) in results[["backbone", "strategy", "seed"]].drop_duplicates().itertuples(index=False):
        if (backbone, strategy, seed) in flops:
            sizes.setdefault((backbone, strategy), {})[seed] = flops[(backbone, strategy, seed)]
    pairs = []
    for strategy in dict.fromkeys(s for _, s in sizes):
        models = sorted((b for b, s in sizes if s == strategy), key=lambda b: np.mean(list(sizes[(b, strategy)].values())))
        pairs += [(strategy, smaller, larger) for smaller, larger in zip(models, models[1:])]
    return pairs, sizes


def pcee_policies(curves: pd.DataFrame, backbone: str, strategy: str) -> list[str]:
    """The pcee policies (any δ, pcee-ws too) swept on a model, in the curves' order."""
    if curves.empty:
        return []
    model = curves[(curves["backbone"] == backbone) & (curves["strategy"] == strategy)]
    return [p for p in dict.fromkeys(model["policy"]) if str(p).startswith("pcee")]


@dataclass
class MatchedCost:
    """A larger model's sweep read at exactly a smaller model's full FLOPs, per seed: `values` (seed → metric) where
    the sweep reaches that cost; otherwise (FLOPs the sweep spends at its nearest end, the budget) in `too_costly`
    (its cheapest point spends more) or `too_cheap` (its dearest point spends less; no extrapolation)."""

    values: dict
    too_costly: list
    too_cheap: list


def matched_cost(curves: pd.DataFrame, sizes: dict, strategy: str, smaller: str, larger: str,
                 policy: str) -> MatchedCost:
    """`larger`'s `policy` sweep of each seed read at the same seed's full FLOPs of `smaller` (`sizes` as
    size_pairs gives them): the matched point of PCEE's size claim, in the claim rule and in the size chart."""
    matched = MatchedCost({}, [], [])
    for seed, budget in sizes[(smaller, strategy)].items():
        if seed not in sizes[(larger, strategy)]:
            continue
        points, full = _curve(curves, larger, strategy, policy, seed), sizes[(larger, strategy)][seed]
        lo, hi = sweep_span(points, "flops_speedup")
        if not np.isfinite(lo):
            continue
        value = sweep_at(points, full / budget, "flops_speedup")
        if np.isfinite(value):
            matched.values[seed] = value
        elif full / budget > hi:
            matched.too_costly.append((full / hi, budget))
        else:
            matched.too_cheap.append((full / lo, budget))
    return matched


def rule_larger_vs_smaller(claim, task, measured, published) -> list[dict]:
    pairs, sizes = size_pairs(measured)
    outcomes = []
    for strategy, smaller, larger in pairs:
        outcomes += _compare_sizes(claim, measured, strategy, smaller, larger, sizes)
    if not outcomes:
        return [_outcome("–", "", NOT_COMPARABLE, "needs two backbones of this task with full-model FLOPs (costs.json)")]
    return outcomes


def _compare_sizes(claim, measured, strategy, smaller, larger, sizes) -> list[dict]:
    results, curves = measured.results, measured.curves
    policies = pcee_policies(curves, larger, strategy)
    if not policies:
        return [_outcome("–", f"{larger} + PCEE vs {smaller}, {strategy}", NOT_COMPARABLE,
                         f"no pcee policy's sweep on {larger}")]
    outcomes = []
    for policy in policies:
        matched = matched_cost(curves, sizes, strategy, smaller, larger, policy)
        errors = {}  # per seed: (larger's error at the budget, smaller's error)
        for seed, value in matched.values.items():
            small_final = results[(results["backbone"] == smaller) & (results["strategy"] == strategy)
                                  & (results["seed"] == seed) & (results["policy"] == "final")]["metric"]
            if not small_final.empty:
                errors[seed] = ((1 - value) / POINT, (1 - small_final.iloc[0]) / POINT)
        setting = f"{larger} + {policy} vs {smaller}, {strategy}"
        if not errors:
            if matched.too_costly:
                spent, budget = np.mean(matched.too_costly, axis=0)
                why = (f"{larger}'s cheapest {policy} point spends {spent:.3g} FLOPs, more than {smaller}'s full model "
                       f"({budget:.3g}): no equal-FLOPs point")
            elif matched.too_cheap:
                spent, budget = np.mean(matched.too_cheap, axis=0)
                why = (f"{NO_CURVE_POINT}: {larger}'s dearest {policy} point spends {spent:.3g} FLOPs, less than "
                       f"{smaller}'s full model ({budget:.3g}), and the curve is not extrapolated")
            else:
                why = f"no {policy} sweep with FLOPs speed-ups on {larger} for a seed of {smaller}"
            outcomes.append(_outcome("–", setting, NOT_COMPARABLE, why))
            continue
        large_error, small_error = (np.asarray(v) for v in zip(*errors.values()))
        (large_mean, large_std), (small_mean, small_std) = _mean_std(large_error), _mean_std(small_error)
        verdict, noise = judge(Margin("smaller's error − larger's", small_error - large_error, strict=True))
        why = (f"error {large_mean:.1f} {'<' if large_mean < small_mean else '≥'} {small_mean:.1f}, the larger model's "
               f"test curve read at exactly the smaller model's full FLOPs (matched cost); {noise}; backbones "
               f"{claim['backbone']} (published) vs {larger}/{smaller}; dataset {claim['task']}")
        outcomes.append(_outcome(f"error {large_mean:.1f} ± {large_std:.1f} % vs {small_mean:.1f} ± {small_std:.1f} %",
                                 setting, verdict, why, len(errors), large_mean, large_std))
    return outcomes


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

def rule_branchynet(claim, task, measured, published) -> list[dict]:
    """BranchyNet's MNIST rows: LeNet (the final exit alone) as a reference; B-LeNet's entropy row read at their
    T and at the val-fitted T, judged on the CPU wall-clock gain of real early exit at batch size 1."""
    network = BRANCHED.get(claim["backbone"], claim["backbone"])
    if claim["task"].strip().lower() != task.name:
        return [_outcome("–", "", NOT_COMPARABLE, f"different data: published on {claim['task']}, this task is "
                                                  f"{task.name}")]
    models = [(key, model) for key, model in _models(measured.results) if key[0] == network]
    if not models:
        return [_outcome("–", "", NOT_COMPARABLE, f"needs a {network} run (the authors' network): this grid has none "
                                                  f"on {task.name}")]
    data = (f"the authors trained on MNIST's 60,000 training images, ours on {task.train_size} "
            f"({'a seeded subset' if task.train_capped else 'carved from the 10,000 test images'}), so the accuracy "
            f"level is not comparable")
    if claim["method"] == "final":
        outcomes = []
        for (backbone, strategy), model in models:
            finals = _finals(model) / POINT
            if len(finals):
                mean, std = _mean_std(finals)
                outcomes.append(_outcome(f"final {mean:.2f} ± {std:.2f}", f"{backbone}/{strategy}/final",
                                         NOT_COMPARABLE, f"a reference: {data}; their LeNet is the main network "
                                         f"without the branch, ours the final exit of {backbone} alone",
                                         len(finals), mean, std))
        return outcomes
    fixed_t = BRANCHYNET_T.search(claim["note"])
    share = BRANCHYNET_SHARE.search(claim["note"])
    published_gain = _number(claim["speedup"])
    outcomes = []
    for name, (method, params) in measured.policy_params.items():
        if method != claim["method"]:
            continue
        threshold = params.get("threshold")
        if threshold is not None and not (fixed_t and math.isclose(threshold, float(fixed_t.group(1)))):
            continue  # a fixed threshold other than the paper's
        reading = f"their T = {threshold:g}" if threshold is not None else "T fitted on val"
        for (backbone, strategy), model in models:
            outcome = _branchynet_outcome(measured, backbone, strategy, model, name)
            if outcome is None:
                continue
            figures, gains = outcome
            where = f"{backbone}/{strategy}/{name} ({reading})"
            published_share = f"{share.group(1)} %" if share else "not printed"
            why = (f"exit 1 (the branch) takes {figures['share']} of test samples against the published "
                   f"{published_share}; accuracy {figures['accuracy']} against the published {claim['value']}: {data}. "
                   f"MAC speed-up {figures['macs']} (the gain real early exit could reach if compute-bound). ")
            if gains.empty:
                verdict, why = NOT_COMPARABLE, why + "No latency.json at batch size 1 for this policy: no wall-clock gain."
                ours, mean, std = f"accuracy {figures['accuracy']}, exit 1 {figures['share']}", math.nan, math.nan
            else:
                mean, std = _mean_std(gains)
                verdict, noise = judge(Margin("our gain − published gain", gains - published_gain))
                why += (f"CPU wall-clock gain at batch size 1 {mean:.2f}× {'≥' if mean >= published_gain else '<'} "
                        f"published {published_gain:g}×; {noise}. Ours times the branch's own compute and runs on "
                        f"this machine's CPU; their timer left the branch out, on 2016 hardware.")
                ours = (f"accuracy {figures['accuracy']}, exit 1 {figures['share']}, MACs {figures['macs']}, "
                        f"CPU {mean:.2f} ± {std:.2f}× at batch 1")
            outcomes.append(_outcome(ours, where, verdict, why, len(gains) or figures["seeds"], mean, std))
    return outcomes


def _branchynet_outcome(measured, backbone, strategy, model, policy):
    """Per-seed figures of one entropy policy: accuracy, share at exit 1, MAC speed-up (text, mean ± std), and the
    wall-clock gains at batch size 1 (a Series by seed); None when the policy has no row on this model."""
    rows = model[model["policy"] == policy].set_index("seed")
    if rows.empty:
        return None
    shares = [float(np.mean(measured.samples[key]["exit_layer"] == 1)) for seed in rows.index
              if (key := (backbone, strategy, seed, policy)) in measured.samples]
    latency = measured.latency
    gains = pd.Series(dtype=float)
    if len(latency):
        at_one = latency[(latency["backbone"] == backbone) & (latency["strategy"] == strategy)
                         & (latency["policy"] == policy) & (latency["batch_size"] == 1)]
        gains = at_one.set_index("seed")["wall_clock_speedup"].astype(float)

    def text(values, scale=1.0, unit=""):
        if not len(values):
            return "not recorded"
        mean, std = _mean_std(np.asarray(values, dtype=float) * scale)
        return f"{mean:.2f} ± {std:.2f}{unit}"

    figures = {"accuracy": text(rows["metric"], 1 / POINT), "share": text(shares, 100, " %"),
               "macs": text(rows["flops_speedup"], unit="×"), "seeds": len(rows)}
    return figures, gains


RULES = {
    "final": rule_final,
    "relative": rule_relative,
    "beem-speedup": lambda *args: rule_beem(*args, speedup_bound=BEEM_SPEEDUP),
    "beem-accuracy": lambda *args: rule_beem(*args, speedup_bound=None),
    "beem-comparable": rule_beem_comparable,
    "close-at-speedup": rule_close_at,
    "monotone": rule_monotone,
    "pcee-target": rule_pcee_target,
    "larger-vs-smaller": rule_larger_vs_smaller,
    "confident-share": rule_confident,
    "saved": rule_saved,
    "domain-shift": rule_domain_shift,
    "replication": rule_replication,
    "branchynet": rule_branchynet,
}

SHOWN = ["paper", "source", "claim", "published", "eebench setting", "eebench", "seeds", "verdict", "why / setting"]


def paper_markdown(table: pd.DataFrame, skipped: int) -> str:
    """The section's Markdown: how the comparison is made, the table, and how many rows are not comparable here."""
    rules = [rule for rule in RULE_TEXT if rule in set(table["rule"])]
    text = ("Each published figure or claim (with its source) beside ours on the closest setting: mean ± std over "
            "seeds, our metrics in points (× 100). Layer-count speed-ups on both sides; methods compared at matched "
            f"cost (a test curve read at the other side's speed-up, never extrapolated). {NOISE_TEXT} Rules used "
            "here:\n\n"
            + "".join(f"- {RULE_TEXT[rule]}\n" for rule in rules) + "\n")
    body = table[SHOWN].to_markdown(index=False) if len(table) else "No published claim compares with this task."
    return f"{text}{body}\n\n{skipped} other published rows are not comparable to this task's setting (another task, " \
           f"modality or data)."


def read_measurements(results: pd.DataFrame, curves: pd.DataFrame, check_paths, cost_paths, tolerance: float,
                      records=(), samples: dict | None = None, latency: pd.DataFrame | None = None) -> Measurements:
    """The runs' checks.json and the plain full model's FLOPs from their costs.json (files without that field are
    left out: the larger-vs-smaller rule then says it lacks them); from the cells' outcome records
    (aggregate.cell_records), each policy's method and parameters; and, as the aggregate read them, the test samples
    (aggregate.collect_samples) and the latency rows (aggregate.latency_table)."""
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
    params = {policy: (record.get("policy", policy), record.get("params", {}))
              for _, cell, policy, record in records if policy == cell["policy"]}  # not an extra row's record
    return Measurements(results, curves, checks, flops, tolerance, samples or {},
                        pd.DataFrame() if latency is None else latency, params)


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
            f"std over seeds, metrics in points, × 100; layer-count speed-ups; methods compared at matched cost). "
            f"{html.escape(NOISE_TEXT)} Rules used here:</p><ul class='note'>"
            f"{rules}</ul>{body}<p class='note'>{skipped} other published rows are not comparable to this task's "
            f"setting.</p></body></html>")
