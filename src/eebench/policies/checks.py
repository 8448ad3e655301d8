"""The check stage (checks.json): the metric checks of a run (`metrics.checks`) plus those that fit something on
val, for classification:
- calibration after temperature scaling (one temperature per exit);
- PCEE's promise: for each accuracy target δ, fit `pcee` on val and report whether test accuracy >= δ ("holds" /
  "fails"), with the accuracy and share of the early-exited samples alone. δ is "unattainable" (``holds`` null)
  when no confidence bin of any exit reaches δ on val, in pcee's own reliability table: then nothing on val says
  any group of samples can be answered that accurately. δ above the final exit's accuracy is not enough, since
  an early exit can beat the final exit on its confident bins;
- when ``data_dir/test.jsonl`` carries a ``difficulty`` per sample, the mean exit layer of `oracle` and of
  `maxprob` (fitted on val within a 0.01 accuracy tolerance) per difficulty level.

A caption run (its data folder's info.json says ``"kind": "captioning"``, or its exits carry ``eos_id`` /
``positions``) is checked on its token exits: the label of a token is the full model's token, so an exit's error is
the share of tokens where its token differs from the full model's, and its calibration is against that token.
checks.json then says ``"unit": "token"``. PCEE's targets are left out (δ would bound the agreement with the full
model's tokens, not the task's CIDEr-D). A caption folder's test.jsonl holds one image a line (``difficulty``
optional, the number of shape groups for shapes-captions); a token takes its image's difficulty, matched by row
(the exits' ``sample_ids`` are the image's row)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError
from ..exits import ExitOutputs, load_exit_outputs
from ..io import jsonl_objects, read_json, write_json
from ..exits import layer_predictions
from ..metrics.checks import calibration, metric_checks, read_difficulty
from .registry import make_policy
from .simulation import simulate
from .temperature import fit_temperatures
from ..captioning.data import MODALITY as CAPTION_MODALITY

PCEE_TARGETS = tuple(np.round(np.arange(0.5, 0.951, 0.05), 2).tolist())


def pcee_targets(val: ExitOutputs, test: ExitOutputs) -> list[dict[str, Any]]:
    final_accuracy = float(np.mean(layer_predictions(test.logits[:, -1]) == test.labels))
    rows = []
    for delta in PCEE_TARGETS:
        policy = make_policy("pcee", delta=delta).fit(val.logits, val.labels)
        best_bin = float(np.max(policy.bin_accuracy_))  # the best val bin of any exit (empty bins are -1)
        exit_layers, predictions = simulate(policy, test.logits)
        right = predictions == test.labels
        accuracy = float(np.mean(right))
        early = exit_layers < test.n_exits
        status = "unattainable" if best_bin < delta else ("holds" if accuracy >= delta else "fails")
        rows.append({
            "delta": delta,
            "test_accuracy": accuracy,
            "status": status,
            "holds": None if status == "unattainable" else status == "holds",
            "best_val_bin_accuracy": best_bin,
            "final_exit_accuracy": final_accuracy,
            "early_exit_share": float(np.mean(early)),
            "early_exit_accuracy": float(np.mean(right[early])) if early.any() else None,
        })
    return rows


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


SEQUENCE_EXTRAS = ("eos_id", "positions")  # extras only a caption run's exits carry (the exits contract)


def is_caption_data(data_dir) -> bool:
    """Whether `data_dir` is a caption task's data folder (its info.json says ``"kind": "captioning"``)."""
    if data_dir is None:
        return False
    info = Path(data_dir) / "info.json"
    if not info.is_file():
        return False
    record = read_json(info)
    return isinstance(record, dict) and (record.get("kind") == "captioning" or record.get("modality") == CAPTION_MODALITY)


def caption_difficulty(data_dir: Path, sample_ids: np.ndarray) -> np.ndarray | None:
    """Each token's image difficulty from a caption folder's test.jsonl (one image a line; the token's sample id
    is the image's row), or None when the images carry no ``difficulty`` (COCO) or there is no test.jsonl."""
    path = Path(data_dir) / "test.jsonl"
    if not path.is_file():
        return None
    levels = []
    for _, record in jsonl_objects(path):
        if "difficulty" not in record:
            return None
        levels.append(record["difficulty"])
    ids = np.asarray(sample_ids, dtype=np.int64)
    if len(ids) and (ids.min() < 0 or ids.max() >= len(levels)):
        raise DataError(f"'{path}': the test exits' sample_ids run from {ids.min()} to {ids.max()}, but the file "
                        f"holds {len(levels)} images (rows 0..{len(levels) - 1})")
    return np.asarray(levels)[ids]


def check_stage(val_path, test_path, data_dir, out_path) -> dict[str, Any]:
    """Write checks.json for one run from its val and test exit outputs (and the task's data folder: an ordinary
    one, or a caption task's, whose per-image difficulty is optional)."""
    val, test = load_exit_outputs(val_path), load_exit_outputs(test_path)
    if val.logits.shape[1:] != test.logits.shape[1:]:
        raise DataError(
            f"'{test_path}', field 'logits': shape [N, L, C] = {list(test.logits.shape)} does not match val's "
            f"{list(val.logits.shape)} in exits and classes"
        )
    captions = is_caption_data(data_dir) or any(name in test.extras for name in SEQUENCE_EXTRAS)
    report = metric_checks(val, test, test_path)
    if captions:
        report["unit"] = "token"
        report["compared_with"] = "the full model's token"
    if test.n_classes > 1:
        temperatures = fit_temperatures(val.logits, val.labels)
        report["calibration_scaled"] = {"temperatures": temperatures, "test": calibration(test, temperatures)}
        if not captions:
            report["pcee_targets"] = pcee_targets(val, test)
        if data_dir is None:
            difficulty = None
        elif captions:
            difficulty = caption_difficulty(Path(data_dir), test.sample_ids)
        else:
            difficulty = read_difficulty(Path(data_dir), test.sample_ids)
        if difficulty is not None:
            report["exit_layer_by_difficulty"] = exit_depth_by_difficulty(val, test, difficulty)
    write_json(out_path, report)
    return report
