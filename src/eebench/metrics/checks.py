"""Per-run checks of early exiting's assumptions (checks.json).

- Error rate of every exit on val and test, and whether it falls monotonically with depth (BEEM's assumption):
  every rise from exit i to i+1 is listed with its size, and counts against monotonicity only when it is
  significant: the two exits are judged on the same samples, so the test is McNemar's exact binomial test on the
  samples whose correctness changes (b right → wrong, c wrong → right; under "no rise" b ~ Binomial(b + c, 1/2)),
  one-sided at level RISE_LEVEL. A one-sample rise on a small split is reported, not flagged. For regression the
  mean absolute error plays that part, and every rise counts (no paired binomial test applies).
- Degenerate exits: one class predicted for >= 95 % of the samples (val and test).
- Calibration per exit: ECE (15 bins) and the reliability diagram (10 bins); on test also after temperature
  scaling, one temperature per exit fitted on val (`calibration_scaled`).
- The survey's per-sample categories on test, judged at the first early exit (i < L) whose max probability is
  >= CONFIDENT: *confident* (that exit is right), *fake-confident* (it is wrong), *confused* (no early exit is
  that confident); with their shares.
- Overthinking: some earlier exit is right while the final exit is wrong.
- PCEE's promise: for each accuracy target δ, fit `pcee` on val and report whether test accuracy >= δ
  ("holds" / "fails"), or "unattainable" when δ is above the final exit's test accuracy (no exit rule can
  promise more than the full model delivers); with the accuracy and share of the early-exited samples alone.
- If ``data_dir/test.jsonl`` carries a ``difficulty`` per sample: the mean exit layer of `oracle` and of `maxprob`
  (fitted on val within a 0.01 accuracy tolerance) per difficulty level.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError
from ..exits import ExitOutputs, load_exit_outputs
from ..io import write_json
from ..policies import make_policy, simulate
from ..policies.base import layer_predictions, max_probability
from ..policies.temperature import fit_temperatures
from .calibration import expected_calibration_error, reliability_diagram

CONFIDENT = 0.9
RISE_LEVEL = 0.05
DEGENERATE_SHARE = 0.95  # an exit predicting one class for this share of the samples is flagged
PCEE_TARGETS = tuple(np.round(np.arange(0.5, 0.951, 0.05), 2).tolist())


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
    from scipy.stats import binomtest

    got_worse = int(np.sum(correct_before & ~correct_after))
    got_better = int(np.sum(~correct_before & correct_after))
    p_value = binomtest(got_worse, got_worse + got_better, 0.5, alternative="greater").pvalue
    return {
        "exit": exit_number,
        "size": (got_worse - got_better) / len(correct_before),
        "right_to_wrong": got_worse,
        "wrong_to_right": got_better,
        "p_value": float(p_value),
        "significant": bool(p_value < RISE_LEVEL),
    }


def degenerate_exits(outputs: ExitOutputs, share: float = DEGENERATE_SHARE) -> dict[str, Any]:
    """Exits that predict one class for at least `share` of the samples (they carry no signal, and every
    early-exit figure read from them measures nothing): per exit, the most predicted class and its share."""
    predictions = outputs.logits.argmax(axis=2)
    counts = np.stack([np.bincount(predictions[:, l], minlength=outputs.n_classes) for l in range(outputs.n_exits)])
    majority_share = counts.max(axis=1) / len(predictions)
    return {
        "threshold": share,
        "majority_class": counts.argmax(axis=1).tolist(),
        "majority_share": majority_share.tolist(),
        "degenerate_exits": [l + 1 for l in np.flatnonzero(majority_share >= share)],
    }


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


def pcee_targets(val: ExitOutputs, test: ExitOutputs) -> list[dict[str, Any]]:
    final_accuracy = float(np.mean(layer_predictions(test.logits[:, -1]) == test.labels))
    rows = []
    for delta in PCEE_TARGETS:
        policy = make_policy("pcee", delta=delta).fit(val.logits, val.labels)
        exit_layers, predictions = simulate(policy, test.logits)
        right = predictions == test.labels
        accuracy = float(np.mean(right))
        early = exit_layers < test.n_exits
        status = "unattainable" if delta > final_accuracy else ("holds" if accuracy >= delta else "fails")
        rows.append({
            "delta": delta,
            "test_accuracy": accuracy,
            "status": status,
            "holds": None if status == "unattainable" else status == "holds",
            "final_exit_accuracy": final_accuracy,
            "early_exit_share": float(np.mean(early)),
            "early_exit_accuracy": float(np.mean(right[early])) if early.any() else None,
        })
    return rows


def read_difficulty(data_dir: Path, sample_ids: np.ndarray) -> np.ndarray | None:
    """Difficulty per test sample from test.jsonl (matched by id), or None without that field."""
    path = Path(data_dir) / "test.jsonl"
    if not path.is_file():
        return None
    by_id = {}
    with open(path) as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"'{path}', line {number}: not valid JSON ({exc})") from None
            if "difficulty" not in record:
                return None
            by_id[str(record.get("id", number - 1))] = record["difficulty"]
    missing = [s for s in map(str, sample_ids) if s not in by_id]
    if missing:
        raise DataError(f"'{path}', field 'id': no record for test sample id(s) {missing[:5]}")
    return np.array([by_id[str(s)] for s in sample_ids])


def exit_depth_by_difficulty(val: ExitOutputs, test: ExitOutputs, difficulty: np.ndarray) -> dict[str, Any]:
    oracle_exits = simulate(make_policy("oracle"), test.logits, test.labels)[0]
    maxprob = make_policy("maxprob").fit(val.logits, val.labels, tolerance=0.01)
    maxprob_exits = simulate(maxprob, test.logits)[0]
    levels = sorted(set(difficulty.tolist()), key=str)
    return {
        str(level): {
            "n_samples": int(np.sum(difficulty == level)),
            "oracle_mean_exit_layer": float(oracle_exits[difficulty == level].mean()),
            "maxprob_mean_exit_layer": float(maxprob_exits[difficulty == level].mean()),
        }
        for level in levels
    }


def check_stage(val_path, test_path, data_dir, out_path) -> dict[str, Any]:
    """Write checks.json for one run from its val and test exit outputs (and the task's data folder)."""
    val, test = load_exit_outputs(val_path), load_exit_outputs(test_path)
    if val.logits.shape[1:] != test.logits.shape[1:]:
        raise DataError(
            f"'{test_path}', field 'logits': shape [N, L, C] = {list(test.logits.shape)} does not match val's "
            f"{list(val.logits.shape)} in exits and classes"
        )
    report: dict[str, Any] = {
        "n_exits": test.n_exits,
        "n_classes": test.n_classes,
        "errors": {"val": exit_errors(val), "test": exit_errors(test)},
    }
    if test.n_classes > 1:
        report["degenerate"] = {"val": degenerate_exits(val), "test": degenerate_exits(test)}
        report["calibration"] = {"val": calibration(val), "test": calibration(test)}
        temperatures = fit_temperatures(val.logits, val.labels)
        report["calibration_scaled"] = {"temperatures": temperatures, "test": calibration(test, temperatures)}
        report["categories"] = sample_categories(test)
        report["pcee_targets"] = pcee_targets(val, test)
        difficulty = read_difficulty(Path(data_dir), test.sample_ids) if data_dir is not None else None
        if difficulty is not None:
            report["exit_layer_by_difficulty"] = exit_depth_by_difficulty(val, test, difficulty)
    write_json(out_path, report)
    return report
