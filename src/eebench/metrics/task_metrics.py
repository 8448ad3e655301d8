"""Task metrics, NumPy only so that policy stages stay light; each works on one prediction vector or, through
the ``*_rows`` functions, on a [K, N] stack of predictions at once (one row per knob value of a sweep).

Names: ``accuracy``; ``f1`` (binary F1 of class 1, plus accuracy — MRPC/QQP); ``mcc`` (Matthews correlation,
plus accuracy — CoLA); ``pearson-spearman`` (their mean, plus each — STS-B regression). The primary value is
the one named like the metric.

A *sequence* metric (``cider``: captions scored against references) cannot be computed from labels and
predictions alone: it needs which sample each unit belongs to and the references. Its stages build a bound
metric object (``SequenceMetric``: a ``name`` and ``compute_rows(y_true, preds)``), and every function here takes
that object wherever it takes a metric name, so policies fit by it exactly as by accuracy."""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError

from typing import Protocol, runtime_checkable

METRICS = ("accuracy", "f1", "mcc", "pearson-spearman")
REGRESSION_METRICS = ("pearson-spearman",)
SEQUENCE_METRICS = ("cider",)  # scored by a bound SequenceMetric (eebench.captioning.scoring.CaptionMetric)


@runtime_checkable
class SequenceMetric(Protocol):
    """A metric bound to one split's units: ``compute_rows(y_true, preds [K, T])`` -> name -> [K] values, the
    primary one named ``name``."""

    name: str

    def compute_rows(self, y_true: np.ndarray, preds: np.ndarray) -> dict[str, np.ndarray]: ...


def metric_name(metric) -> str:
    """The name of a metric given by name or as a bound SequenceMetric."""
    return metric if isinstance(metric, str) else metric.name


def check_metric(metric) -> str:
    if isinstance(metric, SequenceMetric):
        return metric.name
    if metric in SEQUENCE_METRICS:
        raise ConfigError(f"metric '{metric}' scores sequences: it needs the split's references (a caption task's "
                          f"data folder) and the model's tokenizer, not labels alone")
    if metric not in METRICS:
        raise ConfigError(f"unknown metric '{metric}'; valid metrics: {', '.join(METRICS + SEQUENCE_METRICS)}")
    return metric


def _accuracy_rows(y_true: np.ndarray, preds: np.ndarray) -> np.ndarray:
    return (preds == y_true[None, :]).mean(axis=1)


def _confusion_counts(y_true: np.ndarray, preds: np.ndarray) -> tuple[np.ndarray, ...]:
    positive_true = (y_true == 1)[None, :]
    positive_pred = preds == 1
    tp = (positive_pred & positive_true).sum(axis=1)
    fp = (positive_pred & ~positive_true).sum(axis=1)
    fn = (~positive_pred & positive_true).sum(axis=1)
    tn = (~positive_pred & ~positive_true).sum(axis=1)
    return tp.astype(float), fp.astype(float), fn.astype(float), tn.astype(float)


def _f1_rows(y_true: np.ndarray, preds: np.ndarray) -> np.ndarray:
    tp, fp, fn, _ = _confusion_counts(y_true, preds)
    denominator = 2 * tp + fp + fn
    # No positives predicted or present: F1 is 0 by convention (as scikit-learn's zero_division=0).
    return np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)


def _mcc_row(y_true: np.ndarray, pred: np.ndarray) -> float:
    """Gorodkin's multi-class MCC (equals the binary formula for two classes); 0 when undefined."""
    classes, encoded = np.unique(np.concatenate([y_true, pred]), return_inverse=True)
    k = classes.size
    confusion = np.bincount(encoded[: y_true.size] * k + encoded[y_true.size :], minlength=k * k).reshape(k, k)
    confusion = confusion.astype(float)
    t, p = confusion.sum(axis=1), confusion.sum(axis=0)
    n, correct = confusion.sum(), np.trace(confusion)
    denominator = np.sqrt((n**2 - p @ p) * (n**2 - t @ t))
    return float((correct * n - t @ p) / denominator) if denominator > 0 else 0.0


def _pearson_rows(y_true: np.ndarray, preds: np.ndarray) -> np.ndarray:
    x = preds - preds.mean(axis=1, keepdims=True)
    y = y_true - y_true.mean()
    denominator = np.sqrt((x * x).sum(axis=1) * (y @ y))
    return np.divide(x @ y, denominator, out=np.zeros(preds.shape[0]), where=denominator > 0)


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks of each row with ties given their average rank (as scipy.stats.rankdata)."""
    order = np.argsort(values, axis=-1, kind="stable")
    sorted_values = np.take_along_axis(values, order, axis=-1)
    ranks = np.empty(values.shape, dtype=float)
    for row in range(values.shape[0]):
        boundaries = np.flatnonzero(np.diff(sorted_values[row])) + 1
        starts = np.concatenate([[0], boundaries])
        ends = np.concatenate([boundaries, [values.shape[1]]])
        ranks[row, order[row]] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    return ranks


def _spearman_rows(y_true: np.ndarray, preds: np.ndarray) -> np.ndarray:
    return _pearson_rows(_average_ranks(y_true[None, :])[0], _average_ranks(preds))


def compute_rows(metric: str, y_true, preds) -> dict[str, np.ndarray]:
    """Every metric of the task for each row of `preds` [K, N]: name -> [K] values."""
    check_metric(metric)
    y_true = np.asarray(y_true)
    preds = np.atleast_2d(np.asarray(preds))
    if isinstance(metric, SequenceMetric):
        return metric.compute_rows(y_true, preds)
    if metric == "pearson-spearman":
        y_float, p_float = y_true.astype(float), preds.astype(float)
        pearson, spearman = _pearson_rows(y_float, p_float), _spearman_rows(y_float, p_float)
        return {"pearson-spearman": (pearson + spearman) / 2, "pearson": pearson, "spearman": spearman}
    accuracy = _accuracy_rows(y_true, preds)
    if metric == "f1":
        return {"f1": _f1_rows(y_true, preds), "accuracy": accuracy}
    if metric == "mcc":
        return {"mcc": np.array([_mcc_row(y_true, row) for row in preds]), "accuracy": accuracy}
    return {"accuracy": accuracy}


def primary_rows(metric: str, y_true, preds) -> np.ndarray:
    """The primary metric for each row of `preds` [K, N] (what fitting and the tables use)."""
    name = check_metric(metric)
    y_true = np.asarray(y_true)
    preds = np.atleast_2d(np.asarray(preds))
    if not isinstance(metric, str):
        return compute_rows(metric, y_true, preds)[name]
    if metric == "accuracy":
        return _accuracy_rows(y_true, preds)
    if metric == "f1":
        return _f1_rows(y_true, preds)
    return compute_rows(metric, y_true, preds)[metric]


def compute(metric: str, y_true, y_pred) -> dict[str, float]:
    return {name: float(values[0]) for name, values in compute_rows(metric, y_true, np.asarray(y_pred)[None]).items()}


def primary(metric: str, y_true, y_pred) -> float:
    return float(primary_rows(metric, y_true, np.asarray(y_pred)[None])[0])
