"""`risk-control`: thresholds with a finite-sample guarantee (Learn-then-Test, Angelopoulos et al. 2021).

Base score s_i: the max softmax probability (``score="maxprob"``) or BEEM-C's agreement-chained score S_i
(``score="beem"``, cost weights); a sample exits at the first exit i < L with s_i >= λ.

Loss of a sample at λ: ℓ(λ) = 1[the final exit is right and the early-exit prediction is wrong]. The accuracy
drop against the final layer is E[ℓ(λ)] − P(final wrong, early right) <= E[ℓ(λ)], so controlling E[ℓ] <= ε
controls the drop.

Test. The grid λ_1 > λ_2 > … > λ_G is fixed before seeing val (it does not depend on the data: 1 − a geometric
ladder for max-prob, an even ladder from Σ w_i to 0 for BEEM), starting with a λ no score reaches. For each λ_j,
with k_j the number of val samples with loss and n the val size, the p-value of H_j: E[ℓ(λ_j)] > ε is the
binomial tail p_j = P(Binomial(n, ε) <= k_j). Fixed-sequence testing rejects H_1, H_2, … while p_j <= δ and
stops at the first failure; λ is the last rejected one (the most aggressive certified), or the never-exit λ_1
when none is. Then P(E[ℓ(λ)] > ε) <= δ over the draw of val.

Knob: ε (``epsilon``; fit takes it from the config, or the tolerance when left out), with δ = ``delta``. The val
loss counts are kept (``loss_counts_``) so curves sweep ε without refitting.
"""

from __future__ import annotations

import numpy as np

from ..catalogue import choice, integer, number
from ..exits import layer_predictions
from .base import ThresholdPolicy
from .beem import BeemCostPolicy
from .maxprob import MaxProbPolicy
from .sweeps import first_crossing, gather_predictions

BASE_SCORES = ("maxprob", "beem")


def binomial_cdf(k: np.ndarray, n: int, p: float) -> np.ndarray:
    """P(Binomial(n, p) <= k) for integer k, in log space (NumPy only)."""
    k = np.asarray(k, dtype=np.int64)
    if p <= 0:
        return np.ones(k.shape)
    if p >= 1:
        return (k >= n).astype(np.float64)
    j = np.arange(0, int(k.max(initial=0)) + 1)
    log_choose = np.concatenate([[0.0], np.cumsum(np.log((n - j[1:] + 1) / j[1:]))])
    log_pmf = log_choose + j * np.log(p) + (n - j) * np.log1p(-p)
    shift = log_pmf.max()
    cdf = np.cumsum(np.exp(log_pmf - shift)) * np.exp(shift)
    return np.minimum(cdf[k], 1.0)


def fixed_sequence_index(loss_counts: np.ndarray, n: int, epsilon: float, delta: float) -> int:
    """Index of the last grid point certified before the first failure (0, the never-exit point, if none)."""
    passed = binomial_cdf(loss_counts, n, epsilon) <= delta
    failures = np.flatnonzero(~passed)
    last = (failures[0] if failures.size else passed.size) - 1
    return max(int(last), 0)


class RiskControlPolicy(ThresholdPolicy):
    id = "risk-control"
    knob = "epsilon"

    params = {
        "epsilon": number("largest allowed risk ε; null = chosen by fit", minimum=0, maximum=1),
        "delta": number("failure probability δ of the guarantee", minimum=0, maximum=1),
        "score": choice("the confidence score thresholded", BASE_SCORES),
        "grid_size": integer("candidate thresholds"),
    }

    def __init__(self, epsilon=None, delta=0.1, score="maxprob", grid_size=100):
        self.epsilon = epsilon
        self.delta = delta
        self.score = score
        self.grid_size = grid_size

    def _base(self):
        if self.score == "maxprob":
            return MaxProbPolicy()
        base = BeemCostPolicy()
        base.weights_ = np.asarray(self.weights_)
        return base

    def threshold_grid(self, n_classes: int) -> np.ndarray:
        """λ_1 > … > λ_G, fixed before seeing data; λ_1 exits nobody."""
        if self.score == "maxprob":
            ladder = 1.0 - np.geomspace(1e-4, 1.0 - 1.0 / n_classes, self.grid_size - 1)
            return np.concatenate([[2.0], ladder])
        total = float(np.sum(self.weights_))
        return np.concatenate([[total + 1.0], np.linspace(total, 0.0, self.grid_size - 1)])

    def fit_model(self, logits, labels, costs, inputs):
        if self.score == "beem":
            self.weights_ = BeemCostPolicy().default_weights(logits, labels, costs)
        grid = self.threshold_grid(logits.shape[2])
        layer_preds = layer_predictions(logits)
        exits = first_crossing(self.score_matrix(logits), grid)
        early_wrong = gather_predictions(layer_preds, exits) != labels
        final_right = layer_preds[:, -1] == labels
        self.threshold_grid_ = grid
        self.loss_counts_ = (early_wrong & final_right).sum(axis=1)
        self.n_val_ = int(logits.shape[0])

    def fit_knobs(self, logits, labels, costs, metric, tolerance, inputs):
        self.epsilon_ = self.epsilon if self.epsilon is not None else min(tolerance, 1.0)
        self.threshold_ = self.threshold_for(self.epsilon_)

    def threshold_for(self, epsilon: float) -> float:
        index = fixed_sequence_index(np.asarray(self.loss_counts_), self.n_val_, epsilon, self.delta)
        return float(np.asarray(self.threshold_grid_)[index])

    def start(self, n, **inputs):
        return self._base().start(n)

    def layer_score(self, state, layer, logits_l):
        return self._base().layer_score(state, layer, logits_l)

    def layer_threshold(self, layer):
        return self.threshold_for(self.knob_value())

    def sweep(self, logits, values, **inputs):
        thresholds = [self.threshold_for(float(e)) for e in values]
        return first_crossing(self.score_matrix(logits), thresholds)

    def curve_values(self, logits, n_points, **inputs):
        return np.linspace(0.0, 0.2, n_points)
