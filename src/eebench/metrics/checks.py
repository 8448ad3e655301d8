"""Per-run checks of early exiting's assumptions: the metric parts of checks.json (the check stage,
`eebench.policies.checks`, adds the checks that run policies) and `checks_row`, how the aggregate reads a
checks.json, classification or regression.

- Error rate of every exit on val and test, and whether it falls monotonically with depth (BEEM's assumption):
  every rise from exit i to i+1 is listed with its size, and counts against monotonicity only when it is
  significant: the two exits are judged on the same samples, so the test is McNemar's exact binomial test on the
  samples whose correctness changes (b right → wrong, c wrong → right; under "no rise" b ~ Binomial(b + c, 1/2)),
  one-sided at level RISE_LEVEL. A one-sample rise on a small split is reported, not flagged. For regression the
  mean absolute error plays that part, and every rise counts (no paired binomial test applies).
- Degenerate exits: one class predicted for >= 95 % of the samples, or an accuracy not above the majority-class
  rate (val, test, and each test domain on its own). Those degenerate on val are closed for every policy by
  default (`closed_exits`, read by `ExitPolicy.fit`; `policy_fit.keep_degenerate_exits: true` keeps them).
- Calibration per exit: ECE (15 bins) and the reliability diagram (10 bins); the check stage adds it after
  temperature scaling too (`policies.checks`, `calibration_scaled`), one temperature per exit fitted on val.
- The survey's per-sample categories on test, judged at the first early exit (i < L) whose max probability is
  >= CONFIDENT: *confident* (that exit is right), *fake-confident* (it is wrong), *confused* (no early exit is
  that confident); with their shares.
- Overthinking: some earlier exit is right while the final exit is wrong.
- `read_difficulty`: the designed difficulty per test sample, when ``test.jsonl`` carries one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError
from ..exits import DOMAIN_FIELD, ExitOutputs, layer_predictions, max_probability
from ..io import jsonl_objects
from .calibration import expected_calibration_error, reliability_diagram

CONFIDENT = 0.9
RISE_LEVEL = 0.05
DEGENERATE_SHARE = 0.95  # an exit predicting one class for this share of the samples is flagged


def exit_errors(outputs: ExitOutputs) -> dict[str, Any]:
    preds = layer_predictions(outputs.logits)
    if outputs.n_classes == 1:
        errors = np.abs(preds - outputs.labels[:, None]).mean(axis=0)
        name = "mean_absolute_error"
        rises = [{"exit": i + 2, "size": float(errors[i + 1] - errors[i]), "significant": True}
                 for i in np.flatnonzero(np.diff(errors) > 0)]
    else:
        correct = preds == outputs.labels[:, None]
        errors = 1 - correct.mean(axis=0)
        name = "error_rate"
        rises = [error_rise(correct[:, i], correct[:, i + 1], i + 2) for i in np.flatnonzero(np.diff(errors) > 0)]
    flagged = [rise["exit"] for rise in rises if rise["significant"]]
    return {name: errors.tolist(), "rises": rises, "monotone_decreasing": not flagged, "rises_at_exits": flagged}


def error_rise(correct_before: np.ndarray, correct_after: np.ndarray, exit_number: int) -> dict[str, Any]:
    """A rise of the error rate from one exit to the next, with McNemar's exact one-sided p-value."""
    from scipy.special import bdtrc  # the binomial upper tail, without importing scipy.stats (seconds per job)

    got_worse = int(np.sum(correct_before & ~correct_after))
    got_better = int(np.sum(~correct_before & correct_after))
    p_value = bdtrc(got_worse - 1, got_worse + got_better, 0.5)  # P(X >= got_worse), X ~ Bin(discordant, 1/2)
    return {
        "exit": exit_number,
        "size": (got_worse - got_better) / len(correct_before),
        "right_to_wrong": got_worse,
        "wrong_to_right": got_better,
        "p_value": float(p_value),
        "significant": bool(p_value < RISE_LEVEL),
    }


def degenerate_exits(outputs: ExitOutputs, share: float = DEGENERATE_SHARE) -> dict[str, Any]:
    """Exits that carry no signal, so every early-exit figure read from them measures nothing: an exit that
    predicts one class for at least `share` of the samples, or whose accuracy is not above the majority-class
    rate of the labels (it does no better than always answering the commonest class). Per exit: the most
    predicted class, its share and the exit's accuracy."""
    predictions = outputs.logits.argmax(axis=2)
    return degenerate_predictions(predictions, outputs.labels, outputs.n_classes, share)


def degenerate_predictions(predictions: np.ndarray, labels: np.ndarray, n_classes: int,
                           share: float = DEGENERATE_SHARE) -> dict[str, Any]:
    """`degenerate_exits` of per-exit predictions [N, L] against labels [N] (also used per test domain)."""
    n, n_exits = predictions.shape
    counts = np.stack([np.bincount(predictions[:, l], minlength=n_classes) for l in range(n_exits)])
    majority_share = counts.max(axis=1) / max(n, 1)
    accuracy = (predictions == labels[:, None]).mean(axis=0) if n else np.zeros(n_exits)
    majority_rate = np.bincount(labels.astype(np.int64), minlength=n_classes).max() / max(n, 1)
    one_class = majority_share >= share
    no_better = accuracy <= majority_rate + 1e-12
    return {
        "threshold": share,
        "majority_class": counts.argmax(axis=1).tolist(),
        "majority_share": majority_share.tolist(),
        "accuracy": accuracy.tolist(),
        "majority_rate": float(majority_rate),
        "one_class_exits": [int(l) + 1 for l in np.flatnonzero(one_class)],
        "no_better_than_majority_exits": [int(l) + 1 for l in np.flatnonzero(no_better)],
        "degenerate_exits": [int(l) + 1 for l in np.flatnonzero(one_class | no_better)],
    }


def degenerate_by_domain(test: ExitOutputs, source) -> dict[str, dict[str, Any]]:
    """`degenerate_exits` on each test domain separately, in stream order: an exit can collapse to one class on a
    shifted domain while it looks fine on the whole stream."""
    domains = test.domains(source)
    predictions = test.logits.argmax(axis=2)
    return {name: degenerate_predictions(predictions[domains == name], test.labels[domains == name], test.n_classes)
            for name in dict.fromkeys(domains.tolist())}


def closed_exits(logits: np.ndarray, labels: np.ndarray) -> list[int]:
    """The early exits (1..L-1, 1-based) that are degenerate on val and so closed for every policy by default
    (the final exit always answers). Regression outputs (C = 1) have no classes, so nothing is closed."""
    if logits.shape[2] < 2:
        return []
    found = degenerate_predictions(logits.argmax(axis=2), np.asarray(labels), logits.shape[2])
    return [int(exit_) for exit_ in found["degenerate_exits"] if exit_ < logits.shape[1]]


def calibration(outputs: ExitOutputs, temperatures=None) -> dict[str, Any]:
    """ECE and reliability diagram of every exit; with `temperatures` (one per exit), after dividing each exit's
    logits by its temperature."""
    logits = outputs.logits if temperatures is None else outputs.logits / np.asarray(temperatures)[None, :, None]
    confidence = max_probability(logits)
    correct = outputs.logits.argmax(axis=2) == outputs.labels[:, None]
    return {
        "ece": [expected_calibration_error(confidence[:, l], correct[:, l]) for l in range(outputs.n_exits)],
        "reliability": [reliability_diagram(confidence[:, l], correct[:, l]) for l in range(outputs.n_exits)],
    }


def sample_categories(outputs: ExitOutputs) -> dict[str, Any]:
    correct = outputs.logits.argmax(axis=2) == outputs.labels[:, None]
    confident = max_probability(outputs.logits)[:, :-1] >= CONFIDENT
    any_confident = confident.any(axis=1)
    first = confident.argmax(axis=1)
    first_right = correct[np.arange(len(correct)), first]
    counts = {
        "confident": int(np.sum(any_confident & first_right)),
        "fake_confident": int(np.sum(any_confident & ~first_right)),
        "confused": int(np.sum(~any_confident)),
    }
    overthinking = correct[:, :-1].any(axis=1) & ~correct[:, -1]
    n = len(correct)
    return {
        "confidence_threshold": CONFIDENT,
        "counts": counts,
        "shares": {name: count / n for name, count in counts.items()},
        "overthinking_share": float(overthinking.mean()),
    }


def read_difficulty(data_dir: Path, sample_ids: np.ndarray) -> np.ndarray | None:
    """Difficulty per test sample from test.jsonl (matched by id), or None without that field."""
    path = Path(data_dir) / "test.jsonl"
    if not path.is_file():
        return None
    by_id = {}
    for number, record in jsonl_objects(path):
        if "difficulty" not in record:
            return None
        by_id[str(record.get("id", number - 1))] = record["difficulty"]
    missing = [s for s in map(str, sample_ids) if s not in by_id]
    if missing:
        raise DataError(f"'{path}', field 'id': no record for test sample id(s) {missing[:5]}")
    return np.array([by_id[str(s)] for s in sample_ids])


def metric_checks(val: ExitOutputs, test: ExitOutputs, test_source="test exits") -> dict[str, Any]:
    """The metric part of checks.json: errors per exit for every task; calibration and the survey's categories
    only for classification (a regression has no class probabilities). `test_source` names the test file."""
    report: dict[str, Any] = {
        "n_exits": test.n_exits,
        "n_classes": test.n_classes,
        "errors": {"val": exit_errors(val), "test": exit_errors(test)},
    }
    if test.n_classes > 1:
        report["degenerate"] = {"val": degenerate_exits(val), "test": degenerate_exits(test)}
        if DOMAIN_FIELD in test.extras:
            report["degenerate"]["test_domains"] = degenerate_by_domain(test, test_source)
        report["calibration"] = {"val": calibration(val), "test": calibration(test)}
        report["categories"] = sample_categories(test)
    return report


def checks_row(checks: dict[str, Any]) -> dict[str, Any]:
    """The aggregate's row of one checks.json: per-exit test errors (error rate, or mean absolute error for a
    regression), BEEM's monotonicity, and for classification the ECE per exit and the sample categories."""
    row = {f"{split} error monotone": checks["errors"][split]["monotone_decreasing"] for split in ("val", "test")}
    for split in ("val", "test"):
        errors = checks["errors"][split]
        name = "error" if "error_rate" in errors else "mean absolute error"
        values = errors["error_rate"] if "error_rate" in errors else errors["mean_absolute_error"]
        row[f"{split} {name} per exit"] = " ".join(f"{e:.3f}" for e in values)
    if "degenerate" in checks:
        degenerate = checks["degenerate"]
        row["degenerate exits (val: closed by default)"] = _exit_list(degenerate["val"])
        row["degenerate exits (test)"] = _exit_list(degenerate["test"])
        for domain, found in degenerate.get("test_domains", {}).items():
            row[f"degenerate exits ({domain})"] = _exit_list(found)
    if "calibration" in checks:
        row["test ECE per exit"] = " ".join(f"{e:.3f}" for e in checks["calibration"]["test"]["ece"])
    if "categories" in checks:
        for category, share in checks["categories"]["shares"].items():
            row[f"{category.replace('_', '-')} share"] = round(share, 4)
        row["overthinking share"] = round(checks["categories"]["overthinking_share"], 4)
    return row


def _exit_list(found: dict[str, Any]) -> str:
    return " ".join(map(str, found["degenerate_exits"])) or "none"
