"""The prepared-data contract: ``{train,val,test}.jsonl`` (text) or ``.npz`` (images) plus ``info.json``.

Text: one JSON object per line with ``id``, ``text`` (or ``text_a`` + ``text_b`` for sentence pairs), ``label``
and per-sample metadata (``difficulty``, ``domain`` …). Images: ``images`` uint8 [N, H, W] or [N, H, W, 3],
``labels``, ``sample_ids`` and metadata arrays. ``info.json`` is written last, so its presence marks a finished
preparation.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, DataError
from ..exits import DOMAIN_FIELD
from ..io import atomic_path, jsonl_objects, read_json, read_npz, write_json
from .labels import check_class_range

SPLITS = ("train", "val", "test")
TEXT_MODALITIES = ("text", "text-pair")
INFO_FILE = "info.json"
# Metadata with at most this many distinct values gets its distribution in info.json (difficulty, domain).
MAX_CATEGORIES_SUMMARISED = 50


@dataclass
class SplitData:
    modality: str
    inputs: list | np.ndarray
    labels: np.ndarray
    sample_ids: np.ndarray
    meta: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, indices: np.ndarray) -> "SplitData":
        indices = np.asarray(indices, dtype=int)
        inputs = self.inputs[indices] if isinstance(self.inputs, np.ndarray) else [self.inputs[i] for i in indices]
        return SplitData(
            self.modality,
            inputs,
            self.labels[indices],
            self.sample_ids[indices],
            {key: values[indices] for key, values in self.meta.items()},
        )


@dataclass
class PreparedTask:
    """What a task builder returns: the three splits, plus label names when only the data knows them
    (an ImageFolder's classes) and notes for info.json (pixel range, where each split came from …)."""

    splits: dict[str, SplitData]
    label_names: list[str] | None = None
    notes: dict[str, Any] = field(default_factory=dict)


def split_file(data_dir: Path, split: str, modality: str) -> Path:
    return Path(data_dir) / f"{split}.{'jsonl' if modality in TEXT_MODALITIES else 'npz'}"


def _python(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _text_record(split: SplitData, i: int) -> dict[str, Any]:
    record: dict[str, Any] = {"id": _python(split.sample_ids[i])}
    if split.modality == "text-pair":
        record["text_a"], record["text_b"] = split.inputs[i]
    else:
        record["text"] = split.inputs[i]
    record["label"] = _python(split.labels[i])
    record.update({key: _python(values[i]) for key, values in split.meta.items()})
    return record


def write_split(path: Path, split: SplitData) -> None:
    if split.modality in TEXT_MODALITIES:
        with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
            for i in range(len(split)):
                fh.write(json.dumps(_text_record(split, i), ensure_ascii=False) + "\n")
    else:
        with atomic_path(path, suffix=".npz") as tmp, open(tmp, "wb") as fh:
            np.savez_compressed(
                fh, images=split.inputs, labels=split.labels, sample_ids=split.sample_ids, **split.meta
            )


def mean_tokens(split: SplitData) -> float:
    """Mean whitespace-token count per sample (both sentences of a pair together)."""
    texts = [" ".join(pair) for pair in split.inputs] if split.modality == "text-pair" else split.inputs
    return float(np.mean([len(text.split()) for text in texts])) if texts else 0.0


def label_distribution(labels: np.ndarray, n_classes: int, label_names: list[str]) -> dict[str, int]:
    if n_classes == 1:  # regression: counts per unit-wide score bin
        bins = Counter(int(np.floor(v)) for v in labels)
        return {f"[{b}, {b + 1})": bins[b] for b in sorted(bins)}
    counts = np.bincount(labels.astype(int), minlength=n_classes)
    return {name: int(count) for name, count in zip(label_names, counts)}


def split_summary(split: SplitData, n_classes: int, label_names: list[str]) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "size": len(split),
        "label_distribution": label_distribution(split.labels, n_classes, label_names),
    }
    if n_classes == 1 and len(split):
        summary["label_mean"] = float(np.mean(split.labels))
        summary["label_std"] = float(np.std(split.labels))
    if split.modality in TEXT_MODALITIES:
        summary["mean_tokens"] = mean_tokens(split)
    else:
        summary["image_shape"] = list(split.inputs.shape[1:])
    for key, values in split.meta.items():
        counts = Counter(_python(v) for v in values)
        if len(counts) <= MAX_CATEGORIES_SUMMARISED:
            # test domains in stream order (the order the config gives them), other categories sorted
            items = counts.items() if key == DOMAIN_FIELD else sorted(counts.items())
            summary.setdefault("meta_distribution", {})[key] = {str(k): n for k, n in items}
    return summary


def write_prepared(out_dir: Path, spec, prepared: PreparedTask, options: dict, seed: int) -> dict[str, Any]:
    """Write the three split files, then info.json; return the info. The modality is the data's (a task reading
    users' files is a sentence-pair task when they name two text columns)."""
    out_dir = Path(out_dir)
    modality = prepared.splits["train"].modality
    label_names = prepared.label_names or list(spec.label_names)
    n_classes = spec.n_classes if spec.n_classes == 1 else len(label_names)
    for name in SPLITS:
        write_split(split_file(out_dir, name, modality), prepared.splits[name])
    info = {
        "task": spec.name,
        "modality": modality,
        "n_classes": n_classes,
        "metric": spec.metric,
        "label_names": label_names,
        "description": spec.description,
        "seed": seed,
        "options": options,
        "sizes": {name: len(prepared.splits[name]) for name in SPLITS},
        "splits": {
            name: split_summary(prepared.splits[name], n_classes, label_names) for name in SPLITS
        },
        **prepared.notes,
    }
    write_json(out_dir / INFO_FILE, info)
    return info


def load_info(data_dir: str | os.PathLike) -> dict[str, Any]:
    path = Path(data_dir) / INFO_FILE
    info = read_json(path)
    if not isinstance(info, dict):
        raise DataError(f"'{path}': expected a JSON object (is this folder made by `eebench prepare`?)")
    missing = [key for key in ("task", "modality", "n_classes", "metric", "label_names") if key not in info]
    if missing:
        raise DataError(f"'{path}': missing field '{missing[0]}' (is this folder made by `eebench prepare`?)")
    modalities = (*TEXT_MODALITIES, "image")
    if info["modality"] not in modalities:
        raise DataError(f"'{path}', field 'modality': got {info['modality']!r} (allowed: {', '.join(modalities)})")
    n_classes = info["n_classes"]
    if not isinstance(n_classes, int) or isinstance(n_classes, bool) or n_classes < 1:
        raise DataError(f"'{path}', field 'n_classes': got {n_classes!r} (allowed: a positive integer)")
    return info


def _read_jsonl(path: Path, modality: str) -> list[dict]:
    text_fields = ("text_a", "text_b") if modality == "text-pair" else ("text",)
    records = []
    for line_no, record in jsonl_objects(path):
        for key in ("id", "label", *text_fields):
            if key not in record:
                raise DataError(f"'{path}', line {line_no}: missing field '{key}'")
        if not all(isinstance(record[key], str) for key in text_fields):
            raise DataError(f"'{path}', line {line_no}, field '{text_fields[0]}': expected text (a JSON string)")
        records.append(record)
    return records


def _labels(values: list, n_classes: int, path: Path) -> np.ndarray:
    """Class indices in 0..n_classes-1 (or finite scores for regression), checked against info.json."""
    kind = np.float32 if n_classes == 1 else np.int64
    try:
        labels = np.array(values, dtype=kind)
    except (TypeError, ValueError):
        bad = next(v for v in values if not isinstance(v, int | float) or isinstance(v, bool))
        raise DataError(f"'{path}', field 'label': got {bad!r} (allowed: a number)") from None
    if labels.ndim != 1:
        raise DataError(f"'{path}', field 'label': expected one label per sample, got shape {labels.shape}")
    if n_classes == 1:
        if not np.all(np.isfinite(labels)):
            raise DataError(f"'{path}', field 'label': contains NaN or inf")
        return labels
    if np.issubdtype(np.asarray(values).dtype, np.floating) and not np.array_equal(labels, np.asarray(values)):
        raise DataError(f"'{path}', field 'label': class labels must be whole numbers")
    return check_class_range(labels, n_classes, path)


def _load_text(path: Path, modality: str, n_classes: int) -> SplitData:
    records = _read_jsonl(path, modality)
    if not records:
        raise DataError(f"'{path}': empty split (no samples)")
    if modality == "text-pair":
        inputs: list = [(r["text_a"], r["text_b"]) for r in records]
    else:
        inputs = [r["text"] for r in records]
    core = {"id", "label", "text", "text_a", "text_b"}
    meta_keys = [key for key in records[0] if key not in core]
    return SplitData(
        modality,
        inputs,
        _labels([r["label"] for r in records], n_classes, path),
        np.array([r["id"] for r in records]),
        {key: np.array([r.get(key) for r in records]) for key in meta_keys},
    )


def _load_images(path: Path, n_classes: int) -> SplitData:
    arrays = read_npz(path)
    for key in ("images", "labels", "sample_ids"):
        if key not in arrays:
            raise DataError(f"'{path}': missing field '{key}' (has: {sorted(arrays)})")
    images, labels, sample_ids = arrays.pop("images"), arrays.pop("labels"), arrays.pop("sample_ids")
    if images.ndim not in (3, 4) or images.dtype != np.uint8:
        raise DataError(
            f"'{path}', field 'images': expected uint8 [N, H, W] or [N, H, W, 3], got {images.dtype} {images.shape}"
        )
    if labels.ndim != 1 or len(labels) == 0:
        raise DataError(f"'{path}', field 'labels': expected a non-empty 1-d array, got shape {labels.shape}")
    if not len(labels) == len(images) == len(sample_ids):
        raise DataError(
            f"'{path}': {len(images)} images, {len(labels)} labels and {len(sample_ids)} sample_ids; they must match"
        )
    if not (np.issubdtype(labels.dtype, np.integer) or np.issubdtype(labels.dtype, np.floating)):
        raise DataError(f"'{path}', field 'labels': expected numbers, got dtype {labels.dtype}")
    return SplitData("image", images, _labels(labels.tolist(), n_classes, path), sample_ids, arrays)


def load_split(data_dir: str | os.PathLike, split: str) -> SplitData:
    """Read one prepared split back; a missing or malformed file is one DataError naming it."""
    if split not in SPLITS:
        raise ConfigError(f"unknown split '{split}' (allowed: {', '.join(SPLITS)})")
    info = load_info(data_dir)
    path = split_file(Path(data_dir), split, info["modality"])
    if not path.is_file():
        raise DataError(f"'{path}': file not found (prepare the task first)")
    if info["modality"] in TEXT_MODALITIES:
        return _load_text(path, info["modality"], info["n_classes"])
    return _load_images(path, info["n_classes"])
