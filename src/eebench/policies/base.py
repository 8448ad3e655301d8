"""The exit-policy interface shared by simulation and real early-exit inference.

A policy is scikit-learn style: parameters in ``__init__``, ``fit`` on val sets the fitted attributes (names end
with ``_``). A parameter given to the constructor is used as is; a knob left out (None) is chosen by ``fit``: the
value with the largest speed-up (FLOPs when costs are known, else layers) whose val metric is at most
``tolerance`` below the final layer's.

Incremental interface: ``state = policy.start(n)``, then ``mask = policy.step(state, layer, logits_l)`` for
layer = 1, 2, ... (1-based) with ``logits_l`` [n, C]; ``state.take(indices)`` restricts the state to the samples
still in flight. The final exit always exits (the driver forces it). Predictions are the exit's argmax (ties go
to the lowest class index, as ``np.argmax``) or, for regression (C = 1), its single output.

Knob sweeps: ``sweep(logits, values)`` gives the exit layers [K, N] for K knob values at once; threshold policies
compute their per-sample score matrix [N, L] with the very per-layer code ``step`` uses (patience-confidence
derives the same window minima from all confidences at once), then find every threshold's first crossing in
one vectorised pass.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

import numpy as np

from ..errors import ConfigError, DataError
from ..exits import validate_labels, validate_logits
from ..metrics import task_metrics
from ..metrics.speedup import check_costs, mean_cost_speedup

FIT_GRID_POINTS = 200


class State:
    """Per-sample running state of a policy: every attribute is an array whose first axis is the sample."""

    def __init__(self, **arrays: np.ndarray):
        self.__dict__.update(arrays)

    def take(self, indices) -> "State":
        """The state of the samples selected by `indices` (integer indices or a boolean mask)."""
        return State(**{name: values[indices] for name, values in vars(self).items()})


# ---------------------------------------------------------------------------------------------------------------
# Parameter checks shared by the policies' constructors: None (a knob left to fit) passes through.


def check_positive_int(policy_id: str, name: str, value):
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1):
        raise ConfigError(f"policy '{policy_id}': '{name}' must be an integer >= 1, got {value!r}")
    return None if value is None else int(value)


def check_non_negative(policy_id: str, name: str, value):
    if value is not None and not (isinstance(value, int | float) and value >= 0):
        raise ConfigError(f"policy '{policy_id}': '{name}' must be a number >= 0, got {value!r}")
    return None if value is None else float(value)


def check_probability(policy_id: str, name: str, value, low: float = 0.0, high: float = 1.0):
    if value is not None and not (isinstance(value, int | float) and low <= value <= high):
        raise ConfigError(f"policy '{policy_id}': '{name}' must be a number in [{low}, {high}], got {value!r}")
    return None if value is None else float(value)


# ---------------------------------------------------------------------------------------------------------------
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


def crossing_ranks(scores: np.ndarray, thresholds: np.ndarray, exit_when: str) -> tuple[np.ndarray, np.ndarray]:
    """The thresholds' sorting order and, for each sample and layer l < L, the number of sorted thresholds <= the
    running max (">=") or min ("<") of its scores up to l: a sample waits at l for threshold rank r iff
    r >= rank (">=") or r < rank ("<"), and the layers it waits at form a prefix, as the running value is monotone."""
    accumulate = np.maximum.accumulate if exit_when == ">=" else np.minimum.accumulate
    order = np.argsort(thresholds, kind="stable")
    return order, np.searchsorted(thresholds[order], accumulate(scores[:, :-1], axis=1), side="right")


def first_crossing(scores: np.ndarray, thresholds, exit_when: str = ">=") -> np.ndarray:
    """Exit layers [K, N] (1-based) for each threshold: the first layer l < L whose score satisfies
    `score exit_when threshold`, else L.

    The running max (min) of a sample's scores crosses a threshold exactly where its first score does, and it is
    monotone, so the exit layer is 1 + the number of layers whose running value stays on the waiting side. With
    the thresholds sorted, each running value's side flips at one position (`crossing_ranks`); a histogram of those
    positions, summed cumulatively, gives every threshold's count in O(N·L + N·K) rather than O(N·L·K)."""
    thresholds = np.asarray(thresholds, dtype=np.float64).reshape(-1)
    n, n_layers = scores.shape
    k = thresholds.size
    if n_layers == 1 or n == 0:
        return np.ones((k, n), dtype=np.int64) * n_layers
    order, ranks = crossing_ranks(scores, thresholds, exit_when)
    cells = (ranks * n + np.arange(n)[:, None]).ravel()
    # In place: the [K, N] count matrix is the largest array here, and the exit layers overwrite it.
    exits = np.bincount(cells, minlength=(k + 1) * n).reshape(k + 1, n)[:k]
    np.cumsum(exits, axis=0, out=exits)  # layers at or below each rank
    if exit_when == ">=":
        exits += 1
    else:
        np.subtract(n_layers, exits, out=exits)
    return exits if np.all(order[1:] > order[:-1]) else exits[np.argsort(order)]


def threshold_outcomes(scores, thresholds, layer_preds, labels, costs, metric, exit_when=">=") -> tuple:
    """`knob_outcomes` of `first_crossing(scores, thresholds)`: the metric and speed-up of each threshold.

    For accuracy with layer speed-ups both are counts per threshold (correct exits, exit layers in total), and a
    sample's exit moves one layer each time the threshold rank passes one of its `crossing_ranks`, so weighted
    histograms of those ranks give every threshold's counts in O(N·L + K) without the [K, N] exits. Counts are
    exact integers, so the figures equal `knob_outcomes`' to the bit; other metrics and FLOPs go through it."""
    thresholds = np.asarray(thresholds, dtype=np.float64).reshape(-1)
    n, n_layers = scores.shape
    if metric != "accuracy" or costs is not None or n_layers == 1 or n == 0:
        return knob_outcomes(first_crossing(scores, thresholds, exit_when), layer_preds, labels, costs, metric)
    order, ranks = crossing_ranks(scores, thresholds, exit_when)
    correct = (layer_preds == labels[:, None]).astype(np.float64)
    k = thresholds.size
    moves = np.bincount(ranks.ravel(), minlength=k + 1)[:k].cumsum()
    gains = np.bincount(ranks.ravel(), weights=np.diff(correct, axis=1).ravel(), minlength=k + 1)[:k].cumsum()
    if exit_when == ">=":  # samples start at exit 1 and move deeper
        correct_counts, exit_totals = correct[:, 0].sum() + gains, n + moves
    else:  # samples start at exit L and move shallower
        correct_counts, exit_totals = correct[:, -1].sum() - gains, n * n_layers - moves
    sorted_outcomes = (correct_counts / n, n_layers / (exit_totals / n))
    unsorted = np.argsort(order)
    return tuple(values[unsorted] for values in sorted_outcomes)


def gather_predictions(layer_preds: np.ndarray, exit_layers: np.ndarray) -> np.ndarray:
    """Predictions [..., N] at the given exit layers from the per-layer predictions [N, L]."""
    n, n_exits = layer_preds.shape
    return np.take(layer_preds.ravel(), exit_layers - 1 + np.arange(n) * n_exits)


def exit_predictions(logits: np.ndarray, exit_layers: np.ndarray) -> np.ndarray:
    """Predictions [K, N] at exit layers [K, N]: read at each row's exits when there are fewer rows than layers
    (knob-free policies have one), else gathered from every layer's predictions computed once."""
    if exit_layers.shape[0] < logits.shape[1]:
        rows = np.arange(logits.shape[0])
        return np.stack([layer_predictions_at(logits, rows, exit_row) for exit_row in exit_layers])
    return gather_predictions(layer_predictions(logits), exit_layers)


def score_grid(scores: np.ndarray, n_points: int, exit_when: str = ">=") -> np.ndarray:
    """Up to `n_points` thresholds taken from the observed scores of exits 1..L-1 (where decisions change),
    evenly spaced in rank, plus one beyond them that keeps every sample to the final exit."""
    head = scores[:, :-1].ravel() if scores.shape[1] > 1 else scores.ravel()
    values = np.unique(head[np.isfinite(head)])
    if values.size == 0:
        return np.array([0.0])
    picks = values[np.unique(np.linspace(0, values.size - 1, max(n_points - 1, 1)).round().astype(int))]
    never = np.nextafter(values[-1], np.inf) if exit_when == ">=" else np.nextafter(values[0], -np.inf)
    return np.concatenate([picks, [never]])


# ---------------------------------------------------------------------------------------------------------------


class ExitPolicy:
    """Base class; subclasses set `id`, `knob` (the parameter swept by curves, or None) and implement
    `start`, `step` and `sweep`."""

    id: ClassVar[str] = ""
    knob: ClassVar[str | None] = None
    needs_probabilities: ClassVar[bool] = True
    # Per-sample arrays `start` needs besides the logits ("labels" for oracle, "lte_scores" for lte).
    sample_inputs: ClassVar[tuple[str, ...]] = ()

    # -- parameters and serialisation ----------------------------------------------------------------------------
    @classmethod
    def param_names(cls) -> list[str]:
        return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]

    def get_params(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.param_names()}

    def fitted_attributes(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if k.endswith("_") and not k.startswith("_")}

    def to_dict(self) -> dict[str, Any]:
        def plain(value):
            return value.tolist() if isinstance(value, np.ndarray | np.generic) else value

        return {
            "policy": self.id,
            "params": {k: plain(v) for k, v in self.get_params().items()},
            "fitted": {k: plain(v) for k, v in self.fitted_attributes().items()},
        }

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # -- input checks --------------------------------------------------------------------------------------------
    def check_logits(self, logits, source=None) -> np.ndarray:
        logits = validate_logits(logits, source)
        n_exits, n_classes = logits.shape[1:]
        if self.needs_probabilities and n_classes == 1:
            raise ConfigError(
                f"policy '{self.id}' needs class probabilities (C >= 2); it does not support regression outputs "
                f"(C = 1). Policies that do: final, static-k, patience, lte"
            )
        for what, fitted, actual in (("exits", "n_exits_", n_exits), ("classes", "n_classes_", n_classes)):
            expected = getattr(self, fitted, None)
            if expected is not None and expected != actual:
                where = "input" if source is None else repr(str(source))
                raise DataError(
                    f"{where}, field 'logits': {actual} {what}, but policy '{self.id}' was fitted on val logits "
                    f"with {expected}"
                )
        return logits

    def check_inputs(self, n: int, n_exits: int, inputs: dict[str, Any]) -> dict[str, np.ndarray]:
        """Validate the per-sample arrays named in `sample_inputs` (labels [n], lte_scores [n, L])."""
        checked = {}
        for name in self.sample_inputs:
            if inputs.get(name) is None:
                raise DataError(f"policy '{self.id}' needs '{name}' (per-sample array), but none was given")
            value = np.asarray(inputs[name])
            expected = (n,) if name == "labels" else (n, n_exits)
            if value.shape != expected or not np.all(np.isfinite(value)):
                raise DataError(f"'{name}': expected finite values of shape {expected}, got shape {value.shape}")
            checked[name] = value
        return checked

    def knob_value(self, name: str | None = None):
        """The value in use for a knob: the constructor's if given, else the fitted one."""
        name = name or self.knob
        value = getattr(self, name)
        if value is None:
            value = getattr(self, f"{name}_", None)
        if value is None:
            raise ConfigError(f"policy '{self.id}': '{name}' is not set; pass {name}=... or call fit(...) first")
        return value

    # -- fitting -------------------------------------------------------------------------------------------------
    def fit(self, logits, labels, costs=None, *, metric: str = "accuracy", tolerance: float = 0.01, **inputs):
        """Choose the knobs left as None on val logits [N, L, C] and labels [N]; costs [L] optional."""
        self.__dict__.pop("n_exits_", None)  # refitting may change the shape
        self.__dict__.pop("n_classes_", None)
        logits = self.check_logits(logits)
        labels = check_class_labels(validate_labels(labels, logits.shape[0]), logits.shape[2])
        task_metrics.check_metric(metric)
        if not tolerance >= 0:
            raise ConfigError(f"tolerance must be a number >= 0, got {tolerance!r}")
        costs = check_costs(costs, logits.shape[1])
        inputs = self.check_inputs(logits.shape[0], logits.shape[1], {**inputs, "labels": labels})
        self.n_exits_, self.n_classes_ = int(logits.shape[1]), int(logits.shape[2])
        self.fit_model(logits, labels, costs, inputs)
        self.fit_knobs(logits, labels, costs, metric, float(tolerance), inputs)
        return self

    def fit_model(self, logits, labels, costs, inputs) -> None:
        """Fit what the rule itself needs from val (temperatures, weights, bins); none by default."""

    def fit_knobs(self, logits, labels, costs, metric, tolerance, inputs) -> None:
        if self.knob is None:
            return
        if getattr(self, self.knob) is not None:
            setattr(self, f"{self.knob}_", getattr(self, self.knob))
            return
        candidates = self.fit_candidates(logits, inputs)
        setattr(self, f"{self.knob}_", self.select(candidates, logits, labels, costs, metric, tolerance, inputs))

    def fit_candidates(self, logits, inputs) -> np.ndarray:
        return self.curve_values(logits, FIT_GRID_POINTS, **inputs)

    def select(self, candidates, logits, labels, costs, metric, tolerance, inputs):
        """The candidate with the largest speed-up whose val metric is within `tolerance` of the final layer's."""
        layer_preds = layer_predictions(logits)
        scores, speedups = self.candidate_outcomes(candidates, logits, layer_preds, labels, costs, metric, inputs)
        final_score = task_metrics.primary(metric, labels, layer_preds[:, -1])
        index = pick_within_tolerance(scores, speedups, final_score, tolerance)
        return candidates[index].item() if isinstance(candidates, np.ndarray) else candidates[index]

    def candidate_outcomes(self, candidates, logits, layer_preds, labels, costs, metric, inputs):
        """Val metric and speed-up of each candidate knob value."""
        return knob_outcomes(self.sweep(logits, candidates, **inputs), layer_preds, labels, costs, metric)

    # -- the interface every policy implements ---------------------------------------------------------------
    def start(self, n: int, **inputs) -> State:
        raise NotImplementedError

    def step(self, state: State, layer: int, logits_l: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def sweep(self, logits: np.ndarray, values, **inputs) -> np.ndarray:
        """Exit layers [K, N] for each knob value (vectorised)."""
        raise NotImplementedError

    def curve_values(self, logits: np.ndarray, n_points: int, **inputs) -> np.ndarray:
        """Knob values a curve sweeps (label-free); a single placeholder for knob-free policies."""
        return np.array([np.nan])

    def decide(self, logits: np.ndarray, **inputs) -> np.ndarray:
        """Exit layers [N] of the policy as configured, by the vectorised path (the decisions of `step`)."""
        return self.sweep(logits, [self.knob_value() if self.knob else np.nan], **inputs)[0]


def check_class_labels(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Classification labels must be class indices 0..C-1 (regression, C = 1, takes any finite value)."""
    if n_classes > 1 and (np.any(labels != np.round(labels)) or labels.min() < 0 or labels.max() >= n_classes):
        raise DataError(f"'labels': expected class indices 0..{n_classes - 1}, got values in "
                        f"[{labels.min()}, {labels.max()}]")
    return labels.astype(np.int64) if n_classes > 1 else labels


def knob_outcomes(exits, layer_preds, labels, costs, metric) -> tuple[np.ndarray, np.ndarray]:
    """Primary metric and speed-up of each row of `exits` [K, N]."""
    scores = task_metrics.primary_rows(metric, labels, gather_predictions(layer_preds, exits))
    return scores, mean_cost_speedup(exits, layer_preds.shape[1], costs)


def pick_within_tolerance(scores, speedups, final_score, tolerance) -> int:
    """Index of the largest speed-up among the candidates whose metric drop against the final layer is
    <= tolerance (ties: higher metric, then the earlier candidate); if none qualifies, the best metric."""
    allowed = scores >= final_score - tolerance - 1e-12
    if not allowed.any():
        return int(np.argmax(scores))
    order = np.lexsort((-scores, -speedups))  # primary key last: speed-up, then metric
    return int(order[np.argmax(allowed[order])])


def run_steps(policy: ExitPolicy, logits: np.ndarray, state: State, compact: bool = True) -> np.ndarray:
    """Drive `step` layer by layer; with `compact`, only the samples still in flight are passed (as real
    inference does), else every sample every layer and its first exit counts. Returns exit layers [N]."""
    n, n_exits = logits.shape[:2]
    exit_layers = np.full(n, n_exits, dtype=np.int64)
    exited = np.zeros(n, dtype=bool)
    live = np.arange(n)
    for layer in range(1, n_exits):
        if live.size == 0:
            break
        mask = np.asarray(policy.step(state, layer, logits[live, layer - 1]), dtype=bool)
        if compact:
            exit_layers[live[mask]] = layer
            live, state = live[~mask], state.take(~mask)
        else:
            new = mask & ~exited
            exit_layers[new] = layer
            exited |= mask
    return exit_layers


def simulate(policy: ExitPolicy, logits, labels=None, *, compact: bool = True, **inputs):
    """Run a policy over cached exit logits [N, L, C] through its incremental `step`.
    Returns (exit_layer [N] int, 1-based; prediction [N]). Only `oracle` reads `labels`; `lte` reads
    `lte_scores` [N, L]."""
    logits = policy.check_logits(logits)
    n, n_exits = logits.shape[:2]
    if labels is not None:
        labels = check_class_labels(validate_labels(labels, n), logits.shape[2])
    inputs = policy.check_inputs(n, n_exits, {**inputs, "labels": labels})
    if getattr(policy, "online", False):
        exit_layers = policy.run_stream(logits, **inputs)
    else:
        exit_layers = run_steps(policy, logits, policy.start(n, **inputs), compact=compact)
    rows = np.arange(n)
    return exit_layers, layer_predictions_at(logits, rows, exit_layers)


def layer_predictions_at(logits, rows, exit_layers) -> np.ndarray:
    return layer_predictions(logits[rows, exit_layers - 1])


class ThresholdPolicy(ExitPolicy):
    """A policy that exits when a per-layer score crosses its knob: `score >= knob` or `score < knob`."""

    exit_when: ClassVar[str] = ">="

    def layer_score(self, state: State, layer: int, logits_l: np.ndarray) -> np.ndarray:
        """The score of each sample at `layer`, updating `state`; shared by `step` and `score_matrix`."""
        raise NotImplementedError

    def start(self, n: int, **inputs) -> State:
        return State(**inputs)

    def layer_threshold(self, layer: int) -> float:
        return self.knob_value()

    def step(self, state, layer, logits_l):
        score = self.layer_score(state, layer, logits_l)
        threshold = self.layer_threshold(layer)
        return score >= threshold if self.exit_when == ">=" else score < threshold

    def score_matrix(self, logits: np.ndarray, **inputs) -> np.ndarray:
        """Scores [N, L] computed layer by layer with the same code as `step`."""
        state = self.start(logits.shape[0], **inputs)
        return np.stack([self.layer_score(state, l + 1, logits[:, l]) for l in range(logits.shape[1])], axis=1)

    def sweep(self, logits, values, **inputs):
        return first_crossing(self.score_matrix(logits, **inputs), values, self.exit_when)

    def candidate_outcomes(self, candidates, logits, layer_preds, labels, costs, metric, inputs):
        scores = self.score_matrix(logits, **inputs)
        return threshold_outcomes(scores, candidates, layer_preds, labels, costs, metric, self.exit_when)

    def curve_values(self, logits, n_points, **inputs):
        return score_grid(self.score_matrix(logits, **inputs), n_points, self.exit_when)


class PerExitThresholdPolicy(ThresholdPolicy):
    """A threshold policy that may use one threshold per exit (DeeBERT's and BERxiT's list form): `threshold`
    given as a list of L values is used as is; with `per_exit=True` and no threshold, fit chooses the shared
    threshold first and then each exit's by coordinate search on val (exits 1..L-1 in turn, two passes: each
    exit's value is the largest-speed-up one within the tolerance while the others stay fixed, starting from the
    shared one, so the result is never slower on val). The per-exit values are the fitted `thresholds_`; curves
    sweep one shared threshold."""

    per_exit_passes: ClassVar[int] = 2

    def uses_per_exit(self) -> bool:
        return isinstance(self.threshold, list) or self.per_exit

    def knob_value(self, name=None):
        if (name or self.knob) == "threshold" and isinstance(self.threshold, list):
            raise ConfigError(f"policy '{self.id}': 'threshold' is a per-exit list; it has no single value")
        return super().knob_value(name)

    def fit_knobs(self, logits, labels, costs, metric, tolerance, inputs):
        if isinstance(self.threshold, list):
            if len(self.threshold) != logits.shape[1]:
                raise ConfigError(f"policy '{self.id}': 'threshold' has {len(self.threshold)} values, the model "
                                  f"has {logits.shape[1]} exits")
            self.thresholds_ = list(self.threshold)
            return
        super().fit_knobs(logits, labels, costs, metric, tolerance, inputs)
        if self.per_exit:
            scores = self.score_matrix(logits, **inputs)
            self.thresholds_ = self.coordinate_search(scores, layer_predictions(logits), labels, costs, metric,
                                                      tolerance)

    def coordinate_search(self, scores, layer_preds, labels, costs, metric, tolerance) -> list[float]:
        n_exits = scores.shape[1]
        thresholds = np.full(n_exits, float(self.knob_value()))
        final_score = task_metrics.primary(metric, labels, layer_preds[:, -1])
        for _ in range(self.per_exit_passes):
            for i in range(n_exits - 1):
                candidates = np.append(score_grid(scores[:, [i]], FIT_GRID_POINTS // 4, self.exit_when), thresholds[i])
                exits = exits_varying_one(self.passes(scores, thresholds), scores[:, i], i, candidates,
                                          self.exit_when)
                metric_scores, speedups = knob_outcomes(exits, layer_preds, labels, costs, metric)
                thresholds[i] = candidates[pick_within_tolerance(metric_scores, speedups, final_score, tolerance)]
        return thresholds.tolist()

    def passes(self, scores, thresholds) -> np.ndarray:
        return scores >= thresholds if self.exit_when == ">=" else scores < thresholds

    def layer_threshold(self, layer):
        if self.uses_per_exit():
            return np.asarray(self.thresholds_)[layer - 1]
        return self.knob_value()

    def decide(self, logits, **inputs):
        if not self.uses_per_exit():
            return super().decide(logits, **inputs)
        hits = self.passes(self.score_matrix(logits, **inputs), np.asarray(self.thresholds_, dtype=np.float64))
        hits[:, -1] = True  # the final exit always exits
        return hits.argmax(axis=1) + 1


def exits_varying_one(hits, scores_i, i, candidates, exit_when) -> np.ndarray:
    """Exit layers [K, N] when exit i's (0-based) threshold takes each candidate value and every other exit keeps
    its hits [N, L]: a sample leaves before i if an earlier exit fires, at i if the candidate lets it, else at the
    first later exit that fires (the final exit always does)."""
    n, n_exits = hits.shape
    hits = hits.copy()
    hits[:, -1] = True
    before = np.where(hits[:, :i].any(axis=1), hits[:, :i].argmax(axis=1) + 1, 0) if i else np.zeros(n, np.int64)
    after = i + 2 + hits[:, i + 1:].argmax(axis=1)
    candidates = np.asarray(candidates, dtype=np.float64)[:, None]
    at_i = scores_i[None, :] >= candidates if exit_when == ">=" else scores_i[None, :] < candidates
    return np.where(before[None, :] > 0, before[None, :], np.where(at_i, i + 1, after[None, :]))


def check_thresholds(policy_id: str, value, check):
    """A threshold or a per-exit list of them, each passed through `check(policy_id, name, value)`."""
    if isinstance(value, list | tuple):
        if not value:
            raise ConfigError(f"policy '{policy_id}': 'threshold' must be a number or a non-empty list, got []")
        return [check(policy_id, "threshold", v) for v in value]
    return check(policy_id, "threshold", value)
