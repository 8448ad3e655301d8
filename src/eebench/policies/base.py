"""The exit-policy interface shared by simulation and real early-exit inference.

A policy is scikit-learn style: ``__init__`` only stores its parameters, which the class declares in ``params``
(the catalogue checks them in ``make_policy`` and in ``fit``; defaults come from the signature); ``fit`` on val
sets the fitted attributes (names end with ``_``). A subclass with an ``id`` of its own registers in the catalogue
when it is defined. A parameter given to the constructor is used as is; a knob left out (None) is chosen by ``fit``: the
value with the largest speed-up (FLOPs when costs are known, else layers) whose val metric is at most
``tolerance`` below the final layer's.

Incremental interface: ``state = policy.start(n)``, then ``mask = policy.step(state, layer, logits_l)`` for
layer = 1, 2, ... (1-based) with ``logits_l`` [n, C]; ``state.take(indices)`` restricts the state to the samples
still in flight. The final exit always exits (the driver forces it). Predictions are the exit's argmax (ties go
to the lowest class index, as ``np.argmax``) or, for regression (C = 1), its single output.

Knob sweeps: ``sweep(logits, values)`` gives the exit layers [K, N] for K knob values at once (see sweeps.py);
threshold policies compute their per-sample score matrix [N, L] with the very per-layer code ``step`` uses.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

import numpy as np

from .. import catalogue
from ..catalogue import Option, boolean, check_value, integer, number
from ..errors import ConfigError, DataError
from ..exits import layer_predictions, validate_labels, validate_logits
from ..metrics import task_metrics
from ..metrics.checks import closed_exits
from ..metrics.speedup import check_costs
from .sweeps import first_crossing, knob_outcomes, pick_within_tolerance, score_grid, threshold_outcomes

FIT_GRID_POINTS = 200
# The config's `policy_fit` section: how every policy is fitted on val and swept on test.
FIT_OPTIONS = {
    "tolerance": number("largest allowed drop of the task metric against the final exit, on val", default=0.01,
                        minimum=0, below=1),  # a drop of 1 (the whole metric) would accept any policy
    "curve_points": integer("knob values of each test curve", default=40, minimum=2, maximum=10000),
    "keep_degenerate_exits": boolean("keep early exits that are degenerate on val (one class for >= 95 % of the "
                                     "samples, or an accuracy not above the majority rate) open; by default every "
                                     "policy is fitted and evaluated with them closed", default=False),
}


class State:
    """Per-sample running state of a policy: every attribute is an array whose first axis is the sample."""

    def __init__(self, **arrays: np.ndarray):
        self.__dict__.update(arrays)

    def take(self, indices) -> "State":
        """The state of the samples selected by `indices` (integer indices or a boolean mask)."""
        return State(**{name: values[indices] for name, values in vars(self).items()})


class ExitPolicy:
    """Base class; subclasses set `id`, `knob` (the parameter swept by curves, or None) and implement
    `start`, `step` and `sweep`."""

    id: ClassVar[str] = ""
    knob: ClassVar[str | None] = None
    needs_probabilities: ClassVar[bool] = True
    # Per-sample arrays `start` needs besides the logits ("labels" for oracle, "lte_scores" for lte).
    sample_inputs: ClassVar[tuple[str, ...]] = ()
    # The constructor's parameters: name -> catalogue option (type, range, help); the default is the signature's.
    params: ClassVar[dict[str, Option]] = {}
    # Whether `fit` closes the exits that are degenerate on val (the oracle, a limit, keeps every exit).
    closes_exits: ClassVar[bool] = True
    exit_when: ClassVar[str] = ">="  # a score-based rule leaves when `score >= threshold` (or "<")

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "id" in cls.__dict__:  # a shared base class without an id of its own is not a policy
            catalogue.register_policy(cls)

    def __init__(self):
        pass

    # -- parameters and serialisation ----------------------------------------------------------------------------
    @classmethod
    def check_params(cls, params: dict[str, Any]) -> dict[str, Any]:
        """`params` checked against the declarations (ConfigError naming the parameter), defaults filled in."""
        return catalogue.get("policy", cls.id).check(params)

    @classmethod
    def param_names(cls) -> list[str]:
        return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]

    def get_params(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.param_names()}

    def closed_layers(self) -> frozenset[int]:
        """The exits (1-based) no sample may leave at: those closed by `fit` (none before fitting)."""
        return frozenset(int(layer) for layer in getattr(self, "closed_exits_", ()))

    def with_closed_exits(self, scores: np.ndarray) -> np.ndarray:
        """Scores [N, L] with each closed exit's column set to the score that never crosses (-inf for ">=",
        +inf for "<"), so sweeps and `step` agree."""
        closed = [layer - 1 for layer in self.closed_layers() if layer < scores.shape[1]]
        if not closed:
            return scores
        scores = scores.astype(np.float64)
        scores[:, closed] = -np.inf if self.exit_when == ">=" else np.inf
        return scores

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
            regression_policies = [name for name, policy in catalogue.components("policy").items()
                                   if not policy.facts["needs_probabilities"]]
            raise ConfigError(
                f"policy '{self.id}' needs class probabilities (C >= 2); it does not support regression outputs "
                f"(C = 1). Policies that do: {', '.join(regression_policies)}"
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
    def fit(self, logits, labels, costs=None, *, metric: str = "accuracy", tolerance: float = 0.01,
            keep_degenerate_exits: bool = False, **inputs):
        """Choose the knobs left as None on val logits [N, L, C] and labels [N]; costs [L] optional. Early exits
        that are degenerate on val (`metrics.checks.closed_exits`) are closed — no sample leaves there — unless
        `keep_degenerate_exits`; the closed exits are the fitted `closed_exits_`."""
        self.check_params(self.get_params())
        self.__dict__.pop("n_exits_", None)  # refitting may change the shape
        self.__dict__.pop("n_classes_", None)
        logits = self.check_logits(logits)
        labels = check_class_labels(validate_labels(labels, logits.shape[0]), logits.shape[2])
        task_metrics.check_metric(metric)
        tolerance = check_value(FIT_OPTIONS["tolerance"], tolerance, "fit option 'tolerance'")
        costs = check_costs(costs, logits.shape[1])
        inputs = self.check_inputs(logits.shape[0], logits.shape[1], {**inputs, "labels": labels})
        self.n_exits_, self.n_classes_ = int(logits.shape[1]), int(logits.shape[2])
        self.closed_exits_ = [] if keep_degenerate_exits or not self.closes_exits else closed_exits(logits, labels)
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


class ThresholdPolicy(ExitPolicy):
    """A policy that exits when a per-layer score crosses its knob: `score >= knob` or `score < knob`."""

    def layer_score(self, state: State, layer: int, logits_l: np.ndarray) -> np.ndarray:
        """The score of each sample at `layer`, updating `state`; shared by `step` and `score_matrix`."""
        raise NotImplementedError

    def start(self, n: int, **inputs) -> State:
        return State(**inputs)

    def layer_threshold(self, layer: int) -> float:
        return self.knob_value()

    def step(self, state, layer, logits_l):
        return self.leaves(self.layer_score(state, layer, logits_l), layer)

    def leaves(self, score: np.ndarray, layer: int) -> np.ndarray:
        """Which samples leave at `layer` given their scores: none at a closed exit."""
        if layer in self.closed_layers():
            return np.zeros(np.shape(score), dtype=bool)
        threshold = self.layer_threshold(layer)
        return score >= threshold if self.exit_when == ">=" else score < threshold

    def rule_scores(self, logits: np.ndarray, **inputs) -> np.ndarray:
        """Scores [N, L] computed layer by layer with the same code as `step` (a policy may vectorise this)."""
        state = self.start(logits.shape[0], **inputs)
        return np.stack([self.layer_score(state, l + 1, logits[:, l]) for l in range(logits.shape[1])], axis=1)

    def score_matrix(self, logits: np.ndarray, **inputs) -> np.ndarray:
        return self.with_closed_exits(self.rule_scores(logits, **inputs))

    def sweep(self, logits, values, **inputs):
        return first_crossing(self.score_matrix(logits, **inputs), values, self.exit_when)

    def candidate_outcomes(self, candidates, logits, layer_preds, labels, costs, metric, inputs):
        scores = self.score_matrix(logits, **inputs)
        return threshold_outcomes(scores, candidates, layer_preds, labels, costs, metric, self.exit_when)

    def curve_values(self, logits, n_points, **inputs):
        return score_grid(self.score_matrix(logits, **inputs), n_points, self.exit_when)

