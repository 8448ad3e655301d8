"""The CLI-facing policy stages: fit (val) → fit.json, evaluate (test) → test.json, curve (test) → curve.csv, all
three of one grid cell in one process (`policy_cell_stage`), and `evaluate_logits` for users' own logits. Every output is
written atomically; bad input is one EEBenchError."""

from __future__ import annotations

import csv
import io
import math
import sys
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from ..catalogue import check_value
from ..errors import ConfigError, DataError
from ..exits import DOMAIN_FIELD, ExitOutputs, load_exit_outputs
from ..io import read_json, write_json, write_text
from ..metrics import task_metrics
from ..metrics.speedup import flops_speedup, layer_speedup, load_costs
from ..exits import layer_predictions
from .base import FIT_OPTIONS, ExitPolicy
from .oracle import OraclePolicy, least_depth_within_tolerance
from .simulation import simulate
from .sweeps import exit_predictions, gather_predictions
from .registry import make_policy, policy_from_dict


DOMAIN_FIGURES = ["metric", "layer_speedup"]  # what the tables show of each test domain
DOMAIN_SEPARATOR = "/"  # column "imdb/metric": the metric on test domain imdb
SAMPLES_FIELD = "samples"  # test.json: every sample's exit layer, prediction and label
LIMIT_FIELD = "least_depth_within_tolerance"  # the oracle's test.json: the leaderboard's limit

def check_metric_for_outputs(metric: str, outputs: ExitOutputs, source) -> None:
    if metric in task_metrics.SEQUENCE_METRICS:
        return  # bound to the split by `scoring_metric`
    task_metrics.check_metric(metric)
    regression = outputs.n_classes == 1
    if regression != (metric in task_metrics.REGRESSION_METRICS):
        kind = "regression outputs (C = 1)" if regression else f"class logits (C = {outputs.n_classes})"
        allowed = task_metrics.REGRESSION_METRICS if regression else [
            m for m in task_metrics.METRICS if m not in task_metrics.REGRESSION_METRICS
        ]
        raise ConfigError(f"'{source}': metric '{metric}' does not fit {kind}; use one of: {', '.join(allowed)}")


def policy_inputs(policy: ExitPolicy, outputs: ExitOutputs, source) -> dict[str, np.ndarray]:
    """The per-sample extras a policy reads (e.g. `lte_scores`), taken from the npz's extra fields."""
    inputs = {}
    for name in policy.sample_inputs:
        if name == "labels":
            continue
        if name not in outputs.extras:
            raise DataError(
                f"'{source}': policy '{policy.id}' needs field '{name}' [N, L], which the file lacks "
                f"(has: {', '.join(sorted(outputs.extras)) or 'no extra fields'})"
            )
        inputs[name] = outputs.extras[name]
    return inputs


def outcome_summary(metric, labels, exit_layers, predictions, n_exits, costs) -> dict[str, Any]:
    """Metrics and speed-ups of one set of exit decisions."""
    return {
        "metric": task_metrics.metric_name(metric),
        "primary": task_metrics.primary(metric, labels, predictions),
        "metrics": task_metrics.compute(metric, labels, predictions),
        "layer_speedup": float(layer_speedup(exit_layers, n_exits)),
        "flops_speedup": None if costs is None else float(flops_speedup(exit_layers, costs)),
        "mean_exit_layer": float(np.mean(exit_layers)),
        "exit_histogram": np.bincount(exit_layers, minlength=n_exits + 1)[1:].tolist(),
        "n_samples": int(len(labels)),
    }


def outcome_row(record: dict[str, Any], source) -> dict[str, Any]:
    """How a reader (the aggregate) takes an `outcome_summary` from test.json: the primary metric as `metric`
    with its name as `metric_name`, the speed-ups (NaN where not measured) and the mean exit layer; then the
    task's secondary metrics under their own names (MRPC's accuracy beside its F1) and, for tests on several
    domains, each domain's metric and layer speed-up as `{domain}{DOMAIN_SEPARATOR}{figure}`."""
    missing = [name for name in ("metric", "primary", "layer_speedup", "mean_exit_layer") if name not in record]
    if missing:
        raise DataError(f"'{source}': missing fields {missing}")
    row = {name: float("nan") if record.get(name) is None else float(record[name])
           for name in ("layer_speedup", "flops_speedup", "mean_exit_layer")}
    row = {"metric": float(record["primary"]), "metric_name": record["metric"], **row}
    row.update({name: value for name, value in record.get("metrics", {}).items() if name != record["metric"]})
    for domain, outcome in record.get("by_domain", {}).items():
        for figure in DOMAIN_FIGURES:
            value = outcome["primary" if figure == "metric" else figure]
            row[f"{domain}{DOMAIN_SEPARATOR}{figure}"] = float("nan") if value is None else float(value)
    return row


def by_domain(outputs: ExitOutputs, source, metric, exit_layers, predictions, costs) -> dict[str, dict[str, Any]]:
    """The outcome on each test domain separately (decisions taken on the whole stream), in stream order."""
    domains = outputs.domains(source)
    return {
        name: outcome_summary(metric, outputs.labels[mask], exit_layers[mask], predictions[mask], outputs.n_exits, costs)
        for name in dict.fromkeys(domains.tolist())
        for mask in [domains == name]
    }


def _load_split(path: Path, metric: str) -> ExitOutputs:
    outputs = load_exit_outputs(path)
    check_metric_for_outputs(metric, outputs, path)
    return outputs


def scoring_metric(metric: str, outputs: ExitOutputs, source, split: str, data=None, model=None):
    """The metric as policies and evaluation use it: its name, or for a sequence metric (`cider`) the metric bound
    to this split's units, its references (`data`, the task's prepared folder) and the model's tokenizer (`model`)."""
    if metric not in task_metrics.SEQUENCE_METRICS:
        return metric
    if data is None or model is None:
        raise ConfigError(f"'{source}': metric '{metric}' scores whole captions: pass --data (the caption task's "
                          f"prepared data folder, for the references) and --model (the run's model folder, for its "
                          f"tokenizer)")
    from ..captioning.scoring import CaptionMetric

    return CaptionMetric.of_split(outputs, source, split, data, model)


def degenerate_val_problem(outputs: ExitOutputs, tolerance: float) -> str | None:
    """Why a val split cannot choose a policy's knobs meaningfully: a single class (every policy then looks
    perfect early), or too few samples for the tolerance to allow even one changed prediction."""
    n = outputs.n_samples
    if outputs.n_classes > 1:
        classes = np.unique(outputs.labels)
        if len(classes) < 2:
            return f"the val split holds one class only (label {classes[0]!r} on all {n} samples)"
    return too_few_val_samples(n, tolerance)


def too_few_val_samples(n: int, tolerance: float) -> str | None:
    """Why `n` val samples are too few for `tolerance` to allow even one changed prediction, or None."""
    if n == 0:
        return "the val split is empty"
    if tolerance > 0 and n * tolerance < 1:
        needed = f"at least {math.ceil(1 / tolerance)}" if tolerance > 1e-300 else "far more"  # 1/tolerance overflows
        return (
            f"the val split has {n} samples, so a tolerance of {tolerance} is less than one sample "
            f"(1/{n} = {1 / n:.4g}); need {needed} samples" + (f" or a tolerance >= {1 / n:.4g}" if n > 1 else "")
        )
    return None


def _fit(val_path, costs_path, policy_id, params, metric, tolerance, allow_degenerate_val=False,
         keep_degenerate_exits=False, data=None, model=None):
    if not isinstance(params, dict):
        raise ConfigError(f"policy '{policy_id}': params must be a mapping of name to value, got {params!r}")
    val = _load_split(Path(val_path), metric)
    metric = scoring_metric(metric, val, val_path, "val", data, model)
    costs = load_costs(costs_path, val.n_exits)
    policy = make_policy(policy_id, **params)
    inputs = policy_inputs(policy, val, val_path)
    # a corpus metric's tolerance is no share of changed units, and the units (tokens) are many classes
    problem = None if isinstance(metric, task_metrics.SequenceMetric) else degenerate_val_problem(val, tolerance)
    if problem and not allow_degenerate_val:
        raise DataError(f"'{val_path}': {problem}; fix the split or pass --allow-degenerate-val to fit anyway")
    if problem:
        print(f"eebench: WARNING: '{val_path}': {problem}; fitting anyway (--allow-degenerate-val)", file=sys.stderr)
    policy.fit(val.logits, val.labels, costs, metric=metric, tolerance=tolerance,
               keep_degenerate_exits=keep_degenerate_exits, **inputs)
    exit_layers, predictions = simulate(policy, val.logits, val.labels, **inputs)
    summary = outcome_summary(metric, val.labels, exit_layers, predictions, val.n_exits, costs)
    return policy, summary


def fit_stage(
    val_path, costs_path, policy_id, params, metric, tolerance, out_path, allow_degenerate_val: bool = False,
    keep_degenerate_exits: bool = False, data=None, model=None,
) -> dict[str, Any]:
    """Fit a policy's knobs on val; fit.json holds id, params, fitted attributes and the val outcome. A val split
    with one class or too few samples for `tolerance` is refused unless `allow_degenerate_val` (then a warning).
    `data` and `model` are what a sequence metric needs (`scoring_metric`)."""
    policy, summary = _fit(val_path, costs_path, policy_id, params, metric, tolerance, allow_degenerate_val,
                           keep_degenerate_exits, data, model)
    record = {**policy.to_dict(), "tolerance": tolerance, "keep_degenerate_exits": keep_degenerate_exits,
              "val": summary}
    write_json(out_path, record)
    return record


def _load_fitted(fit_path) -> tuple[ExitPolicy, float | None]:
    """The policy a fit.json holds and the tolerance it was fitted with (None in a file written without one)."""
    data = read_json(fit_path)
    if not isinstance(data, dict):
        raise DataError(f"'{fit_path}': expected a JSON object, got {type(data).__name__}")
    try:
        policy = policy_from_dict(data)
    except (ConfigError, DataError) as exc:  # an unknown policy id or bad knob in the file: name the file
        raise DataError(f"'{fit_path}': {exc}") from None
    tolerance = data.get("tolerance")
    if tolerance is not None:
        tolerance = check_value(FIT_OPTIONS["tolerance"], tolerance, f"'{fit_path}', field 'tolerance'")
    return policy, tolerance


def sample_record(labels, exit_layers, predictions, metric) -> dict[str, list]:
    """Each test sample's exit layer, prediction and label, in test order: what the aggregate resamples for its
    bootstrap intervals and paired comparisons. A sequence metric adds each unit's sequence and each sequence's
    score (`sample_id`, `image_scores`): the aggregate then resamples sequences."""
    record = {"exit_layer": np.asarray(exit_layers).tolist(), "prediction": np.asarray(predictions).tolist(),
              "label": np.asarray(labels).tolist()}
    if isinstance(metric, task_metrics.SequenceMetric):
        record.update(metric.sample_fields(predictions))
    return record


def _evaluate(policy: ExitPolicy, test_path, costs_path, metric, tolerance: float | None = None, data=None,
              model=None) -> dict[str, Any]:
    """The test record of a fitted policy: metrics, speed-ups, exit histogram, every sample's exit and prediction
    (and ucb's best fixed arm; for the oracle, with `tolerance`, the least depth within it: the leaderboard's limit;
    for a sequence metric, the task's full protocol of metrics, e.g. the COCO caption metrics)."""
    test = _load_split(Path(test_path), metric)
    metric = scoring_metric(metric, test, test_path, "test", data, model)
    policy.check_logits(test.logits, test_path)
    costs = load_costs(costs_path, test.n_exits)
    inputs = policy_inputs(policy, test, test_path)
    exit_layers, predictions = simulate(policy, test.logits, test.labels, **inputs)
    record = {
        **policy.to_dict(),
        **outcome_summary(metric, test.labels, exit_layers, predictions, test.n_exits, costs),
        SAMPLES_FIELD: sample_record(test.labels, exit_layers, predictions, metric),
    }
    if hasattr(metric, "protocol_metrics"):
        record["metrics"].update(metric.protocol_metrics(predictions))
    if isinstance(policy, OraclePolicy) and tolerance is not None:
        limit = least_depth_within_tolerance(test.logits, test.labels, metric, tolerance)
        limit_predictions = gather_predictions(layer_predictions(test.logits), limit)
        record[LIMIT_FIELD] = {
            "tolerance": tolerance,
            **outcome_summary(metric, test.labels, limit, limit_predictions, test.n_exits, costs),
            SAMPLES_FIELD: sample_record(test.labels, limit, limit_predictions, metric),
        }
    if DOMAIN_FIELD in test.extras:
        record["by_domain"] = by_domain(test, test_path, metric, exit_layers, predictions, costs)
    if hasattr(policy, "hindsight_exits"):
        best_value, best_exits = policy.hindsight_exits(test.logits)
        preds = gather_predictions(layer_predictions(test.logits), best_exits)
        record["best_fixed_in_hindsight"] = {
            "threshold": best_value,
            **outcome_summary(metric, test.labels, best_exits, preds, test.n_exits, costs),
        }
    return record


def evaluate_stage(fit_path, test_path, costs_path, metric, out_path, data=None, model=None) -> dict[str, Any]:
    """Apply a fitted policy to test; test.json holds the metrics, speed-ups and exit-layer histogram."""
    policy, tolerance = _load_fitted(fit_path)
    record = _evaluate(policy, test_path, costs_path, metric, tolerance, data, model)
    write_json(out_path, record)
    return record


def curve_rows(policy: ExitPolicy, outputs: ExitOutputs, source, costs, metric, n_points) -> list[dict[str, Any]]:
    """One row per knob value of the policy's sweep on `outputs` (vectorised)."""
    inputs = policy_inputs(policy, outputs, source)
    if "labels" in policy.sample_inputs:
        inputs["labels"] = outputs.labels
    logits = policy.check_logits(outputs.logits, source)
    values = policy.curve_values(logits, n_points, **inputs)
    exits = policy.sweep(logits, values, **inputs)
    predictions = exit_predictions(logits, exits)
    metrics = task_metrics.compute_rows(metric, outputs.labels, predictions)
    name = task_metrics.metric_name(metric)
    layer_speedups = layer_speedup(exits, outputs.n_exits)
    flops = None if costs is None else flops_speedup(exits, costs)
    domains = domain_curves(outputs, source, metric, exits, predictions)
    rows = []
    for k, value in enumerate(values):
        rows.append({
            "policy": policy.id,
            "knob": policy.knob or "",
            "knob_value": "" if policy.knob is None else np.asarray(value).item(),
            "metric": name,
            "primary": float(metrics[name][k]),
            **{other: float(v[k]) for other, v in metrics.items() if other != name},
            "layer_speedup": float(layer_speedups[k]),
            "flops_speedup": "" if flops is None else float(flops[k]),
            "mean_exit_layer": float(exits[k].mean()),
            **{name: float(values[k]) for name, values in domains.items()},
        })
    return rows


def domain_curves(outputs: ExitOutputs, source, metric, exits, predictions) -> dict[str, np.ndarray]:
    """For a test split of several domains, each domain's metric and layer speed-up per knob value, as columns
    `{domain}/metric` and `{domain}/layer_speedup` (named as `outcome_row` names them); none otherwise."""
    if DOMAIN_FIELD not in outputs.extras:
        return {}
    domains = outputs.domains(source)
    columns = {}
    for name in dict.fromkeys(domains.tolist()):
        mask = domains == name
        columns[f"{name}{DOMAIN_SEPARATOR}metric"] = task_metrics.primary_rows(metric, outputs.labels[mask],
                                                                                predictions[:, mask])
        columns[f"{name}{DOMAIN_SEPARATOR}layer_speedup"] = layer_speedup(exits[:, mask], outputs.n_exits)
    return columns


def curve_stage(fit_path, test_path, costs_path, metric, n_points, out_path, data=None, model=None
                ) -> list[dict[str, Any]]:
    """Sweep the fitted policy's knob over `n_points` values on test and write curve.csv."""
    n_points = check_value(FIT_OPTIONS["curve_points"], n_points, "curve option 'points'")
    policy, _ = _load_fitted(fit_path)
    test = _load_split(Path(test_path), metric)
    metric = scoring_metric(metric, test, test_path, "test", data, model)
    rows = curve_rows(policy, test, test_path, load_costs(costs_path, test.n_exits), metric, n_points)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text(out_path, buffer.getvalue())
    return rows


def policy_cell_stage(
    val_path, test_path, costs_path, policy_id, params, metric, tolerance, n_points, fit_path, test_out, curve_out,
    allow_degenerate_val: bool = False, keep_degenerate_exits: bool = False, data=None, model=None,
) -> None:
    """fit → evaluate → curve of one grid cell in one process: the same three files the separate stages write
    (evaluate and curve read the policy back from fit.json, as they do when run alone)."""
    check_value(FIT_OPTIONS["curve_points"], n_points, "curve option 'points'")  # before anything is written
    fit_stage(val_path, costs_path, policy_id, params, metric, tolerance, fit_path, allow_degenerate_val,
              keep_degenerate_exits, data, model)
    evaluate_stage(fit_path, test_path, costs_path, metric, test_out, data, model)
    curve_stage(fit_path, test_path, costs_path, metric, n_points, curve_out, data, model)


def format_row(policy_id: str, record: dict[str, Any], fitted: dict[str, Any]) -> str:
    knobs = ", ".join(f"{k}={_short(v)}" for k, v in fitted.items() if k not in ("n_exits_", "n_classes_"))
    flops = "" if record["flops_speedup"] is None else f"{record['flops_speedup']:.2f}x"
    return (
        f"| {policy_id} | {record['primary']:.4f} | {record['layer_speedup']:.2f}x | {flops} | "
        f"{record['mean_exit_layer']:.2f} | {knobs} |"
    )


def _short(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | np.ndarray):
        return "[" + ", ".join(_short(v) for v in np.asarray(value).ravel().tolist()[:12]) + "]"
    return str(value)


def evaluate_logits(
    val_path,
    test_path,
    policy_id: str,
    params: dict[str, Any] | None = None,
    costs_path=None,
    metric: str = "accuracy",
    tolerance: float = 0.01,
    out: TextIO | None = None,
    allow_degenerate_val: bool = False,
    keep_degenerate_exits: bool = False,
) -> dict[str, Any]:
    """Fit a policy on a user's val npz and evaluate it on their test npz; print the table row (the same
    columns as eebench's tables) and return the test record."""
    policy, _ = _fit(val_path, costs_path, policy_id, params or {}, metric, tolerance, allow_degenerate_val,
                     keep_degenerate_exits)
    record = _evaluate(policy, test_path, costs_path, metric, tolerance)
    out = out or sys.stdout
    out.write(f"| policy | {metric} | layer speed-up | FLOPs speed-up | mean exit layer | fitted knobs |\n")
    out.write("|---|---|---|---|---|---|\n")
    out.write(format_row(policy.id, record, policy.fitted_attributes()) + "\n")
    return record
