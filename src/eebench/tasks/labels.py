"""Turn raw label values from data files into class indices or scores; a bad value names file, line and the
allowed values."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..errors import DataError


def encode_classes(
    values: Sequence[str], lookup: dict[str, int], source, line_numbers: Sequence[int], field: str = "label"
) -> np.ndarray:
    """Class indices of `values` (e.g. lookup {"entailment": 0, "not_entailment": 1} or {"0": 0, "1": 1});
    `field` names the label column in messages."""
    labels = np.empty(len(values), dtype=np.int64)
    for i, value in enumerate(values):
        key = value.strip()
        if key not in lookup:
            raise DataError(
                f"'{source}', line {line_numbers[i]}, field '{field}': got {value!r} (allowed: {', '.join(lookup)})"
            )
        labels[i] = lookup[key]
    return labels


def encode_scores(
    values: Sequence[str], low: float, high: float, source, line_numbers: Sequence[int]
) -> np.ndarray:
    """Regression targets (STS-B similarity in [0, 5])."""
    scores = np.empty(len(values), dtype=np.float32)
    for i, value in enumerate(values):
        try:
            scores[i] = float(value)
        except ValueError:
            scores[i] = np.nan
        if not low <= scores[i] <= high:
            raise DataError(
                f"'{source}', line {line_numbers[i]}, field 'label': got {value!r} (allowed: a number in [{low}, {high}])"
            )
    return scores


def check_class_range(labels: np.ndarray, n_classes: int, source) -> np.ndarray:
    """For labels that arrive as integers (hub datasets, IDX and CIFAR files)."""
    labels = np.asarray(labels).astype(np.int64)
    bad = np.flatnonzero((labels < 0) | (labels >= n_classes))
    if bad.size:
        raise DataError(
            f"'{source}', field 'label': sample {bad[0]} has label {labels[bad[0]]} (allowed: 0..{n_classes - 1})"
        )
    return labels
