"""`beem-c` and `beem-a` (BEEM, Bajpai & Hanawal, ICLR 2025): exits as experts whose confidences add up while
they agree.

Score. With C_i the max softmax probability of exit i, ŷ_i its argmax and w_i the exit's weight:

    S_1 = w_1·C_1 (``restart="score"``)  or  0 (``restart="zero"``)
    S_i = S_{i-1} + w_i·C_i        if ŷ_i = ŷ_{i-1}
    S_i = r_i                      otherwise (the chain restarts)

with r_i = w_i·C_i for ``restart="score"`` (the paper's description, default) or r_i = 0 for ``restart="zero"``
(the authors' released code, Div290/BEEM1 ``e3bert/modeling_albert.py``: the running ``confidence`` is 0 at the
first exit and after every disagreement, so an exit adds its w_i·C_i only when it agrees with the exit before it
and the earliest exit is exit 2). A sample exits at the first exit i < L with S_i >= α_i; exit L always exits.

Weights. ``beem-c`` (cost): w_i = c_i / c_L with c_i the cumulative cost to exit i (costs.json FLOPs; the layer
index i when no costs are given). ``beem-a`` (accuracy): w_i = the val accuracy of exit i. ``weights=[...]``
overrides either scheme. ``beem-c``'s ``weight_scheme`` names the others for any number of exits (a paper grid
then needs no per-depth list): ``"index"``, w_i = i / L (the paper's example), and ``"released"``, the released
code's 0.4·(i − 1).
There is no cost scale λ: S is linear in w, so a factor λ on every w_i only rescales α, and α is either given
or fitted, so λ could change no decision. The accuracy-for-speed trade-off is the fitting tolerance (grid rule)
or the error-rate rule's confidence and minimum count below.

Thresholds, ``threshold_rule``:
- ``"grid"``: one α for every exit, the largest-speed-up value of a grid over val's scores whose val metric is
  within the tolerance of the final layer's (the rule every policy here shares).
- ``"error-rate"``: BEEM's rule, per exit. Let p_L be the final exit's error rate on val. Exits t = 1..L-1 are
  set in order; R_t is the set of val samples that have not exited before t, E_t(α) = {n ∈ R_t: S_t(n) >= α}
  the samples that would exit at t, and p_t(α) = |{n ∈ E_t(α): ŷ_t(n) ≠ y_n}| / |E_t(α)| their error rate.
  The expected cost of a sample is ``E[c] = Σ_t c_t·P(exit at t) + c_misc·P(error)``; keeping every
  p_t <= p_L keeps the misclassification term no worse than the full model's, and under that constraint the
  stopping cost is lowest when as many samples as possible leave as early as possible:
  ``α_t = min{α ∈ {S_t(n): n ∈ R_t} : |E_t(α)| >= min_exit_samples and U(p_t(α)) <= p_L}``
  (with ``restart="zero"`` a score of 0, no agreeing chain, never exits, as the released code's α > 0). When
  no α qualifies the exit is closed: α_t = +inf, so no sample, on val or on test, leaves there and every
  sample goes on (a threshold just above val's highest score would still let test samples that score higher
  leave at an exit where every val group errs more than the final layer). U is the one-sided Clopper–Pearson
  upper bound on p_t at ``error_confidence`` (exact binomial: the p whose Binomial(|E_t|, p) puts 1 − confidence
  on <= the observed errors), so that a small group that happens to be clean on val does not open an exit that
  errs on test; ``error_confidence=None`` with ``min_exit_samples=1`` is the paper's plain rule U(p_t) = p_t. These
  per-exit thresholds are the fitted ``thresholds_``, with ``None`` for a closed exit (JSON, and so fit.json,
  has no infinity); curves still sweep one shared α.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from ..catalogue import choice, integer, number, number_list
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
        "min_exit_samples": integer("error-rate rule: fewest val samples that must exit at an exit for its threshold"),
        "error_confidence": number("error-rate rule: confidence of the Clopper–Pearson upper bound on an exit's "
                                   "error; null = the plain val error", minimum=0, below=1, nullable=True),
    }

    def __init__(self, alpha=None, restart="score", weights=None, threshold_rule="grid", min_exit_samples=20,
                 error_confidence=0.9):
        self.alpha = alpha
        self.restart = restart
        self.weights = weights
        self.threshold_rule = threshold_rule
        self.min_exit_samples = min_exit_samples
        self.error_confidence = error_confidence

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
            alphas = error_rate_thresholds(self.score_matrix(logits), layer_predictions(logits), labels,
                                           self.min_exit_samples, self.error_confidence)
            self.thresholds_ = [None if np.isinf(alpha) else alpha for alpha in alphas]

    def exit_thresholds(self) -> np.ndarray:
        """The fitted per-exit α_t [L] as floats, +inf at a closed exit (None in `thresholds_`)."""
        return np.array([np.inf if alpha is None else alpha for alpha in self.thresholds_], dtype=np.float64)

    def start(self, n, **inputs):
        if self.weights is None and getattr(self, "weights_", None) is None:
            raise ConfigError(f"policy '{self.id}': weights are fitted on val; pass weights=[...] or call fit first")
        return State(score=np.zeros(n), previous=np.zeros(n, dtype=np.int64))

    def layer_score(self, state, layer, logits_l):
        weights = self.weights_ if getattr(self, "weights_", None) is not None else self.weights
        gain = weights[layer - 1] * max_probability(logits_l)
        prediction = layer_predictions(logits_l)
        if layer == 1:
            state.score[:] = gain if self.restart == "score" else 0.0
        else:
            restart = gain if self.restart == "score" else 0.0
            state.score[:] = np.where(prediction == state.previous, state.score + gain, restart)
        state.previous[:] = prediction
        if self.restart == "zero":  # no agreeing chain, no evidence: the authors' α > 0 never lets S = 0 exit
            return np.where(state.score > 0, state.score, -np.inf)
        return state.score.copy()

    def layer_threshold(self, layer):
        if self.threshold_rule == "error-rate":
            return self.exit_thresholds()[layer - 1]
        return self.knob_value()

    def decide(self, logits, **inputs):
        if self.threshold_rule != "error-rate":
            return super().decide(logits, **inputs)
        scores = self.score_matrix(logits)
        # A final column of True makes argmax land on exit L when no earlier exit fires.
        hits = np.concatenate([scores[:, :-1] >= self.exit_thresholds()[None, :-1],
                               np.ones((len(scores), 1), dtype=bool)], axis=1)
        return hits.argmax(axis=1) + 1


def error_rate_thresholds(scores, layer_preds, labels, min_exit_samples=1, error_confidence=None) -> list[float]:
    """BEEM's per-exit thresholds α_t (see the module docstring), +inf for a closed exit; the last entry (exit L)
    is unused."""
    n, n_exits = scores.shape
    final_error = np.mean(layer_preds[:, -1] != labels)  # p_L
    in_flight = np.ones(n, dtype=bool)
    thresholds = []
    for t in range(n_exits - 1):
        s, wrong = scores[in_flight, t], layer_preds[in_flight, t] != labels[in_flight]
        threshold = lowest_threshold_within(s, wrong, final_error, min_exit_samples, error_confidence)
        thresholds.append(threshold)
        in_flight &= scores[:, t] < threshold
    return thresholds + [0.0]


def error_upper_bound(errors: np.ndarray, counts: np.ndarray, confidence: float | None) -> np.ndarray:
    """One-sided Clopper–Pearson upper bound on an error rate from `errors` out of `counts` (the point estimate
    errors / counts when `confidence` is None): the Beta(k + 1, n − k) quantile at `confidence`, 1 when k = n."""
    if confidence is None:
        return errors / counts
    from scipy.special import betaincinv  # the Beta quantile (scipy.stats.beta.ppf) without importing scipy.stats

    bound = np.ones(counts.shape)
    some_right = errors < counts
    bound[some_right] = betaincinv(errors[some_right] + 1, counts[some_right] - errors[some_right], confidence)
    return bound


def lowest_threshold_within(scores, wrong, target, min_exit_samples=1, confidence=None) -> float:
    """min α among the scores such that {score >= α} has >= `min_exit_samples` samples and an error-rate bound
    <= target; +inf (the exit is closed) if none."""
    scores, wrong = scores[np.isfinite(scores)], wrong[np.isfinite(scores)]
    if scores.size == 0:
        return np.inf
    order = np.argsort(-scores, kind="stable")
    sorted_scores = scores[order]
    counts = np.arange(1, scores.size + 1)
    bound = error_upper_bound(np.cumsum(wrong[order]), counts, confidence)
    # Only cut between distinct scores: everything tied at α exits together.
    last_of_value = np.append(sorted_scores[1:] != sorted_scores[:-1], True)
    feasible = np.flatnonzero(last_of_value & (counts >= min_exit_samples) & (bound <= target + 1e-12))
    if feasible.size == 0:
        return np.inf
    return float(sorted_scores[feasible[-1]])


WEIGHT_SCHEMES = ("cost", "index", "released")
# Div290/BEEM1 e3bert/modeling_albert.py: exit i's weight is 0.4·(i − 1) (0 at the first exit), at any depth
RELEASED_WEIGHT_STEP = 0.4


class BeemCostPolicy(BeemPolicy):
    id = "beem-c"
    params = {
        **BeemPolicy.params,
        "weight_scheme": choice("default weights: cost = c_i / c_L, each exit's cumulative cost (costs.json); index = "
                                "i / L (the paper's example); released = 0.4·(i − 1) as in the authors' code; for "
                                "any number of exits; `weights` overrides them", WEIGHT_SCHEMES),
    }

    def __init__(self, alpha=None, restart="score", weights=None, threshold_rule="grid", min_exit_samples=20,
                 error_confidence=0.9, weight_scheme="cost"):
        super().__init__(alpha, restart, weights, threshold_rule, min_exit_samples, error_confidence)
        self.weight_scheme = weight_scheme

    def default_weights(self, logits, labels, costs):
        if self.weight_scheme == "released":
            return RELEASED_WEIGHT_STEP * np.arange(logits.shape[1], dtype=np.float64)
        by_index = self.weight_scheme == "index" or costs is None
        cumulative = np.arange(1, logits.shape[1] + 1, dtype=np.float64) if by_index else costs
        return cumulative / cumulative[-1]


class BeemAccuracyPolicy(BeemPolicy):
    id = "beem-a"

    def default_weights(self, logits, labels, costs):
        return (layer_predictions(logits) == labels[:, None]).mean(axis=0)
