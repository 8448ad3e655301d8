"""The exit-outputs contract: ``exits/{split}.npz`` holds ``logits`` float32 [N, L, C] (C = 1 for regression),
``labels`` [N] and ``sample_ids`` [N]. Optional extras ride along under their own names: per-exit ones (e.g.
``lte_scores`` [N, L] of BERxiT's learning-to-exit heads) and ``domain`` [N] (str), each test sample's domain, for
tasks tested on several domains; evaluate reports every domain on its own."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import DataError, describe
from .io import atomic_path, read_npz

DOMAIN_FIELD = "domain"


@dataclass
class ExitOutputs:
    logits: np.ndarray
    labels: np.ndarray
    sample_ids: np.ndarray
    extras: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n_samples(self) -> int:
        return self.logits.shape[0]

    @property
    def n_exits(self) -> int:
        return self.logits.shape[1]

    @property
    def n_classes(self) -> int:
        return self.logits.shape[2]

    def domains(self, source) -> np.ndarray:
        """Each sample's domain (the `domain` field; checked: one per sample), `source` naming the file."""
        domains = np.asarray(self.extras[DOMAIN_FIELD]).astype(str)
        if domains.shape != (self.n_samples,):
            raise DataError(f"'{source}', field '{DOMAIN_FIELD}': expected one domain per sample, shape "
                            f"({self.n_samples},); got {domains.shape}")
        return domains

    def save(self, path: str | os.PathLike) -> None:
        with atomic_path(path, suffix=".npz") as tmp:
            with open(tmp, "wb") as fh:
                np.savez_compressed(
                    fh, logits=self.logits, labels=self.labels, sample_ids=self.sample_ids, **self.extras
                )


def validate_logits(logits, source=None, field_name: str = "logits", allow_empty: bool = False) -> np.ndarray:
    """Check a [N, L, C] array of finite floats; return it as float32 (float64 kept if given)."""
    where = describe(source, field_name)
    arr = np.asarray(logits)
    if arr.ndim != 3:
        raise DataError(f"{where}: expected a 3-d array [samples, exits, classes], got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.floating):
        raise DataError(f"{where}: expected floating-point values, got dtype {arr.dtype}")
    if arr.shape[0] == 0 and not allow_empty:
        raise DataError(f"{where}: no samples (shape {arr.shape}); an empty split cannot be fitted or evaluated")
    if arr.shape[1] == 0 or arr.shape[2] == 0:
        raise DataError(f"{where}: needs at least one exit and one class, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise DataError(
            f"{where}: contains NaN or inf (first at sample {bad[0]}, exit {bad[1] + 1}); exit policies need finite logits"
        )
    return arr


def validate_labels(labels, n: int, source=None, field_name: str = "labels") -> np.ndarray:
    where = describe(source, field_name)
    arr = np.asarray(labels)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise DataError(f"{where}: expected a 1-d array of {n} labels (one per sample), got shape {arr.shape}")
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise DataError(f"{where}: expected numeric labels, got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.floating) and not np.all(np.isfinite(arr)):
        raise DataError(f"{where}: contains NaN or inf")
    return arr


def load_exit_outputs(path: str | os.PathLike) -> ExitOutputs:
    """Read and validate an exits npz; a malformed file is one clear DataError naming it."""
    p = Path(path)
    arrays = read_npz(p)
    for required in ("logits", "labels"):
        if required not in arrays:
            raise DataError(f"'{p}': missing field '{required}' (has: {sorted(arrays)})")
    logits = validate_logits(arrays.pop("logits"), p)
    labels = validate_labels(arrays.pop("labels"), logits.shape[0], p)
    if logits.shape[2] > 1:
        _check_class_labels(labels, logits.shape[2], p)
    sample_ids = arrays.pop("sample_ids", np.arange(logits.shape[0]))
    if np.asarray(sample_ids).shape != (logits.shape[0],):
        raise DataError(f"'{p}', field 'sample_ids': expected shape ({logits.shape[0]},), got {np.shape(sample_ids)}")
    return ExitOutputs(logits=logits, labels=labels, sample_ids=np.asarray(sample_ids), extras=arrays)


def _check_class_labels(labels: np.ndarray, n_classes: int, source) -> None:
    """Class labels must index the logits' classes, or every metric is silently wrong."""
    bad = np.flatnonzero((labels < 0) | (labels >= n_classes) | (labels != np.round(labels)))
    if bad.size:
        raise DataError(
            f"{describe(source, 'labels')}: sample {bad[0]} has label {labels[bad[0]]!r} "
            f"(allowed: whole numbers 0..{n_classes - 1}, one per class of the logits)"
        )


# Per-layer quantities of exit logits [n, C] (float64 so that every path computes identical numbers).


def layer_predictions(logits_l: np.ndarray) -> np.ndarray:
    """Argmax class (lowest index on ties) or, for C = 1, the regression output; the class axis is the last, so
    logits [N, L, C] give every layer's predictions [N, L] in one call."""
    return logits_l[..., 0].astype(np.float64) if logits_l.shape[-1] == 1 else np.argmax(logits_l, axis=-1)


def max_probability(logits_l: np.ndarray) -> np.ndarray:
    """Max softmax probability C_i = 1 / sum_j exp(z_j - z_max) over the last (class) axis."""
    z = logits_l.astype(np.float64)
    return 1.0 / np.exp(z - z.max(axis=-1, keepdims=True)).sum(axis=-1)


def softmax_entropy(logits_l: np.ndarray) -> np.ndarray:
    """Entropy H(p) = -sum_j p_j ln p_j of the softmax (natural log) over the last (class) axis."""
    z = logits_l.astype(np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    log_norm = np.log(np.exp(z).sum(axis=-1, keepdims=True))
    p = np.exp(z - log_norm)
    return (log_norm[..., 0] - (p * z).sum(axis=-1))


def normalised_entropy(logits_l: np.ndarray) -> np.ndarray:
    """H(p) / ln C (FastBERT's uncertainty, PCEE-BERT's confidence measure), in [0, 1]."""
    return softmax_entropy(logits_l) / np.log(logits_l.shape[-1])


def layer_predictions_at(logits, rows, exit_layers) -> np.ndarray:
    return layer_predictions(logits[rows, exit_layers - 1])
