"""`ucb` (CeeBERT, Bajpai & Hanawal 2024; UCBEE, Pacheco et al. 2023): online, label-free threshold learning.

Arms are confidence thresholds α (default 0.50, 0.55, …, 0.95). Samples arrive in stream order (a permutation
seeded by `order_seed`), in batches of `batch_size` (1 = the sequential algorithm). Each batch plays the arm with
the largest UCB index

    mean reward(a) + exploration · sqrt(2 ln t / n(a))     (untried arms first; ties: the lowest threshold)

with t the samples observed so far; its samples exit at the first exit i < L whose max softmax probability
C_i >= α. The reward of a sample that exits at layer e uses only confidences and the per-layer overhead o:

    r = (C_e − C_1) − o·(e − 1)

— with a single early exit (L = 2) this is UCBEE's reward: 0 for exiting at the early exit, C_L − C_1 − o for
continuing. Rewards are credited after the batch (delayed feedback, as a deployed system sees it).

Knob: the overhead o (`overhead`); fit picks it on val by the shared tolerance rule (labels choose o only; the
bandit itself never sees a label). `hindsight_exits` gives the best fixed arm in hindsight (largest total
reward over the same stream) to report next to the bandit. Real inference calls `reset_stream()` once, then per
batch `start(n)`, `step`, and `observe(state, exit_layers, first_confidence, exit_confidence)`.
"""

from __future__ import annotations

import numpy as np

from ..catalogue import integer, number, number_list
from ..exits import max_probability
from .base import ExitPolicy, State
from .simulation import run_steps
from .sweeps import first_crossing

DEFAULT_ARMS = tuple(np.round(np.arange(0.50, 0.951, 0.05), 2).tolist())
FIT_CANDIDATES = 41


def ucb_index(sums: np.ndarray, counts: np.ndarray, observed: int, exploration: float) -> np.ndarray:
    """UCB index [K, A] of each arm; +inf for arms not tried yet."""
    with np.errstate(divide="ignore", invalid="ignore"):
        index = sums / counts + exploration * np.sqrt(2.0 * np.log(max(observed, 1)) / counts)
    return np.where(counts > 0, index, np.inf)


class UcbPolicy(ExitPolicy):
    id = "ucb"
    knob = "overhead"
    online = True

    params = {
        "overhead": number("per-layer overhead o in the reward; null = chosen by fit", minimum=0),
        "thresholds": number_list("the arms: confidence thresholds; null = 0.50, 0.55, …, 0.95", minimum=0, maximum=1),
        "exploration": number("weight of the UCB exploration bonus", minimum=0),
        "batch_size": integer("samples per bandit round (1 = sequential)"),
        "order_seed": integer("seed of the stream order", minimum=0),
    }

    def __init__(self, overhead=None, thresholds=None, exploration=1.0, batch_size=1, order_seed=0):
        self.overhead = overhead
        self.thresholds = thresholds
        self.exploration = exploration
        self.batch_size = batch_size
        self.order_seed = order_seed

    @property
    def arms(self) -> np.ndarray:
        return np.asarray(self.thresholds if self.thresholds is not None else DEFAULT_ARMS, dtype=np.float64)

    def stream_order(self, n: int) -> np.ndarray:
        return np.random.default_rng(self.order_seed).permutation(n)

    # -- the incremental path: the bandit plays arms batch by batch ----------------------------------------------
    def reset_stream(self) -> None:
        self._sums = np.zeros((1, self.arms.size))
        self._counts = np.zeros((1, self.arms.size))
        self._observed = 0

    def start(self, n, **inputs):
        if not hasattr(self, "_sums"):
            self.reset_stream()
        arm = int(np.argmax(ucb_index(self._sums, self._counts, self._observed, self.exploration)[0]))
        return State(arm=np.full(n, arm), threshold=np.full(n, self.arms[arm]))

    def step(self, state, layer, logits_l):
        return max_probability(logits_l) >= state.threshold

    def observe(self, state, exit_layers, first_confidence, exit_confidence) -> None:
        """Credit the batch's rewards (C_e − C_1) − o·(e − 1) to its arm."""
        rewards = (exit_confidence - first_confidence) - self.knob_value() * (exit_layers - 1).astype(np.float64)
        arm = int(state.arm[0])
        self._sums[0, arm] += rewards.sum()
        self._counts[0, arm] += rewards.size
        self._observed += rewards.size

    def run_stream(self, logits, **inputs) -> np.ndarray:
        self.reset_stream()
        exit_layers = np.empty(logits.shape[0], dtype=np.int64)
        order = self.stream_order(logits.shape[0])
        for begin in range(0, order.size, self.batch_size):
            batch = order[begin : begin + self.batch_size]
            state = self.start(batch.size)
            exits = run_steps(self, logits[batch], state)
            self.observe(state, exits, max_probability(logits[batch, 0]),
                         max_probability(logits[batch, exits - 1]))
            exit_layers[batch] = exits
        return exit_layers

    # -- the vectorised path: K bandits (one per overhead value) on precomputed per-arm outcomes -------------------
    def arm_outcomes(self, logits):
        """Per arm, in stream order: exit layers [A, N], confidence gains C_e − C_1 and depths e − 1."""
        order = self.stream_order(logits.shape[0])
        confidences = max_probability(logits[order])
        exits = first_crossing(confidences, self.arms)
        gains = confidences[np.arange(order.size), exits - 1] - confidences[:, 0]
        return order, exits, gains, (exits - 1).astype(np.float64)

    def sweep(self, logits, values, **inputs):
        order, exits, gains, depths = self.arm_outcomes(logits)
        overheads = np.asarray(values, dtype=np.float64)
        k, n_arms, n = overheads.size, self.arms.size, order.size
        sums, counts = np.zeros((k, n_arms)), np.zeros((k, n_arms))
        rows = np.arange(k)
        played = np.empty((k, n), dtype=np.int64)
        observed = 0
        for begin in range(0, n, self.batch_size):
            end = min(begin + self.batch_size, n)
            arm = np.argmax(ucb_index(sums, counts, observed, self.exploration), axis=1)
            rewards = gains[arm, begin:end] - overheads[:, None] * depths[arm, begin:end]
            sums[rows, arm] += rewards.sum(axis=1)
            counts[rows, arm] += end - begin
            observed += end - begin
            played[:, begin:end] = arm[:, None]
        result = np.empty((k, n), dtype=np.int64)
        result[:, order] = exits[played, np.arange(n)[None, :]]
        return result

    def curve_values(self, logits, n_points, **inputs):
        # Past o = 1 / (L - 1) no confidence gain can pay for going from exit 1 to exit L.
        return np.linspace(0.0, 1.0 / max(logits.shape[1] - 1, 1), n_points)

    def fit_candidates(self, logits, inputs):
        return self.curve_values(logits, FIT_CANDIDATES)

    def hindsight_exits(self, logits) -> tuple[float, np.ndarray]:
        """The fixed threshold with the largest total reward on this stream, and its exit layers [N]."""
        order, exits, gains, depths = self.arm_outcomes(logits)
        totals = (gains - self.knob_value() * depths).sum(axis=1)
        best = int(np.argmax(totals))
        result = np.empty(order.size, dtype=np.int64)
        result[order] = exits[best]
        return float(self.arms[best]), result
