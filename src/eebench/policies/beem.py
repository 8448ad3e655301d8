"""`beem-c` and `beem-a` (BEEM, Bajpai & Hanawal, ICLR 2025): exits as experts whose confidences add up while
they agree.

Score. With C_i the max softmax probability of exit i, ŷ_i its argmax and w_i the exit's weight:

    S_1 = w_1·C_1
    S_i = S_{i-1} + w_i·C_i        if ŷ_i = ŷ_{i-1}
    S_i = r_i                      otherwise (the chain restarts)

with r_i = w_i·C_i for ``restart="score"`` (the paper's description, default) or r_i = 0 for ``restart="zero"``
(the authors' released code). A sample exits at the first exit i < L with S_i >= α_i; exit L always exits.

Weights. ``beem-c`` (cost): w_i = λ · c_i / c_L with c_i the cumulative cost to exit i (costs.json FLOPs; the
layer index i when no costs are given) and λ = ``cost_scale`` (as S is linear in w, λ only rescales α).
``beem-a`` (accuracy): w_i = the val accuracy of exit i. ``weights=[...]`` overrides either scheme.

Thresholds, ``threshold_rule``:
- ``"grid"``: one α for every exit, the largest-speed-up value of a grid over val's scores whose val metric is
  within the tolerance of the final layer's (the rule every policy here shares).
- ``"error-rate"``: BEEM's rule. Let p_t be the final exit's error rate on val. Exits are set in order; R_i is
  the set of val samples that have not exited before i, and for a candidate α
  ``err_i(α) = |{n ∈ R_i: S_i(n) >= α, ŷ_i(n) ≠ y_n}| / |{n ∈ R_i: S_i(n) >= α}|``.
  The expected cost of a sample is ``E[c] = Σ_i c_stop(i)·P(exit at i) + c_misc·P(error)`` with
  c_stop(i) = c_i the cost of stopping at exit i and c_misc the cost of a misclassification; requiring every
  exit's error rate err_i(α_i) <= p_t keeps the misclassification term no worse than the full model's, and under
  that constraint the stopping cost is lowest when as many samples as possible leave as early as possible, i.e.
  ``α_i = min{α ∈ {S_i(n): n ∈ R_i} : err_i(α) <= p_t}`` (no sample exits at i when no α qualifies).
  These per-exit thresholds are the fitted ``thresholds_``; curves still sweep one shared α.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from ..catalogue import choice, number, number_list
from ..exits import layer_predictions, max_probability
from .base import State, ThresholdPolicy

RESTARTS = ("score", "zero")
THRESHOLD_RULES = ("grid", "error-rate")


class BeemPolicy(ThresholdPolicy):
    """Shared score and threshold rules; subclasses choose the default weights."""

    knob = "alpha"
    params = {
        "alpha": number("threshold scale α; null = chosen by fit", minimum=0),
        "restart": choice("what the running score restarts from when the prediction changes", RESTARTS),
        "weights": number_list("per-exit weights; null = the policy's default"),
        "threshold_rule": choice("how each exit's threshold is set", THRESHOLD_RULES),
    }

    def __init__(self, alpha=None, restart="score", weights=None, threshold_rule="grid"):
        self.alpha = alpha
        self.restart = restart
        self.weights = weights
        self.threshold_rule = threshold_rule

    def default_weights(self, logits, labels, costs) -> np.ndarray:
        raise NotImplementedError

    def fit_model(self, logits, labels, costs, inputs):
        if self.weights is not None and len(self.weights) != logits.shape[1]:
            raise ConfigError(
                f"policy '{self.id}': 'weights' has {len(self.weights)} values, the model has {logits.shape[1]} exits"
            )
        weights = self.weights if self.weights is not None else self.default_weights(logits, labels, costs)
        self.weights_ = np.asarray(weights, dtype=np.float64)

    def fit_knobs(self, logits, labels, costs, metric, tolerance, inputs):
        super().fit_knobs(logits, labels, costs, metric, tolerance, inputs)
        if self.threshold_rule == "error-rate":
            self.thresholds_ = error_rate_thresholds(self.score_matrix(logits), layer_predictions(logits), labels)

    def start(self, n, **inputs):
        if self.weights is None and getattr(self, "weights_", None) is None:
            raise ConfigError(f"policy '{self.id}': weights are fitted on val; pass weights=[...] or call fit first")
        return State(score=np.zeros(n), previous=np.zeros(n, dtype=np.int64))

    def layer_score(self, state, layer, logits_l):
        weights = self.weights_ if getattr(self, "weights_", None) is not None else self.weights
        gain = weights[layer - 1] * max_probability(logits_l)
        prediction = layer_predictions(logits_l)
        if layer == 1:
            state.score[:] = gain
        else:
            restart = gain if self.restart == "score" else 0.0
            state.score[:] = np.where(prediction == state.previous, state.score + gain, restart)
        state.previous[:] = prediction
        return state.score.copy()

    def layer_threshold(self, layer):
        if self.threshold_rule == "error-rate":
            return np.asarray(self.thresholds_)[layer - 1]
        return self.knob_value()

    def decide(self, logits, **inputs):
        if self.threshold_rule != "error-rate":
            return super().decide(logits, **inputs)
        scores = self.score_matrix(logits)
        # A final column of True makes argmax land on exit L when no earlier exit fires.
        hits = np.concatenate([scores[:, :-1] >= np.asarray(self.thresholds_)[None, :-1],
                               np.ones((len(scores), 1), dtype=bool)], axis=1)
        return hits.argmax(axis=1) + 1


def error_rate_thresholds(scores: np.ndarray, layer_preds: np.ndarray, labels: np.ndarray) -> list[float]:
    """BEEM's per-exit thresholds (see the module docstring); the last entry (exit L) is unused."""
    n, n_exits = scores.shape
    target = np.mean(layer_preds[:, -1] != labels)  # p_t
    in_flight = np.ones(n, dtype=bool)
    thresholds = []
    for i in range(n_exits - 1):
        s, wrong = scores[in_flight, i], layer_preds[in_flight, i] != labels[in_flight]
        threshold = _lowest_threshold_within(s, wrong, target)
        thresholds.append(threshold)
        in_flight &= scores[:, i] < threshold
    return thresholds + [0.0]


def _lowest_threshold_within(scores: np.ndarray, wrong: np.ndarray, target: float) -> float:
    """min α among the scores such that the error rate of {score >= α} is <= target; above all if none."""
    if scores.size == 0:
        return 0.0
    order = np.argsort(-scores, kind="stable")
    sorted_scores = scores[order]
    error_rate = np.cumsum(wrong[order]) / np.arange(1, scores.size + 1)
    # Only cut between distinct scores: everything tied at α exits together.
    last_of_value = np.append(sorted_scores[1:] != sorted_scores[:-1], True)
    feasible = np.flatnonzero(last_of_value & (error_rate <= target + 1e-12))
    if feasible.size == 0:
        return float(np.nextafter(sorted_scores[0], np.inf))
    return float(sorted_scores[feasible[-1]])


class BeemCostPolicy(BeemPolicy):
    id = "beem-c"

    params = {**BeemPolicy.params, "cost_scale": number("scale of the cost weights", above=0)}

    def __init__(self, alpha=None, restart="score", weights=None, threshold_rule="grid", cost_scale=1.0):
        super().__init__(alpha, restart, weights, threshold_rule)
        self.cost_scale = cost_scale

    def default_weights(self, logits, labels, costs):
        cumulative = np.arange(1, logits.shape[1] + 1, dtype=np.float64) if costs is None else costs
        return self.cost_scale * cumulative / cumulative[-1]


class BeemAccuracyPolicy(BeemPolicy):
    id = "beem-a"

    def default_weights(self, logits, labels, costs):
        return (layer_predictions(logits) == labels[:, None]).mean(axis=0)
