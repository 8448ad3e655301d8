"""`ucb` (CeeBERT, Bajpai & Hanawal 2024; UCBEE, Pacheco et al. 2023): online, label-free threshold learning.

Arms are confidence thresholds α (default 0.50, 0.55, …, 0.95, the notebooks' ``0.10*((i+10)/2)``). Samples
arrive in stream order, in batches of `batch_size` (1 = the sequential algorithm). Each batch plays the arm with
the largest UCB index

    mean reward(a) + exploration · sqrt(2 ln t / n(a))     (untried arms first, in list order; ties: lowest index)

with t the samples observed so far. The authors' notebooks (Div290/CeeBERT ``UBERT one exit.ipynb``,
``next_action``) write the bonus c̃·sqrt(ln t / N(a)) with c̃ = 2, so c̃ = exploration·√2 and the default
exploration = √2 is theirs (it reproduces their arm sequence); exploration = 1 is the textbook UCB1.
A batch's samples exit at the first exit i < L whose max softmax probability C_i >= α. The reward of a sample that
exits at layer e uses only confidences and the per-layer overhead o:

    r = (C_e − C_1) − o·(e − 1)

— with a single early exit (L = 2) this is the notebooks' reward: 0 for exiting at the early exit, C_L − C_1 − o
for continuing; with two (``UBERT_for_2_layers_reduced.ipynb``) theirs is C_e − C_1 minus the overheads of the
segments passed, which is this with one overhead per layer. Deliberate differences: one threshold shared by all
exits (the 2-exit notebook's arms are pairs of per-exit thresholds, which grows as |A|^(L−1)), and rewards
credited after the batch (delayed feedback, as a deployed system sees it; batch_size 1 is the notebooks' loop).

Stream order, `stream_order`:
- ``"file"`` (default): the samples in the order of the exit outputs, i.e. of the split's file, as a deployed
  model meets them; a shifted test file's domains arrive one after the other, so the bandit meets the shift.
- ``"shuffled"``: `n_shuffles` permutations drawn in turn from one generator seeded by `order_seed`, each played
  by a fresh bandit. `simulate` returns one exit per sample (a decision some bandit took, with its prediction),
  so sample n reports the exit it got in shuffle n mod `n_shuffles`. Each shuffle thus decides an equal,
  interleaved share of the samples, and every figure that is a mean over samples (accuracy, mean exit layer,
  hence the layer speed-up) averages over the shuffles: over random orders its expectation is that of one
  shuffled stream's figure, while the luck of any one order (an arm settled on early) moves only
  1/`n_shuffles` of the samples. Averaging the shuffles' whole-stream figures exactly would need several exits
  per sample, which the exit-layer contract has no room for.

Knob: the overhead o (`overhead`); fit picks it on val by the shared tolerance rule (labels choose o only; the
bandit itself never sees a label). `hindsight_exits` gives the best fixed arm in hindsight (largest total
reward over the same samples, a sum that no order changes) to report next to the bandit. Real inference calls
`reset_stream()` once per stream, then per batch `start(n)`, `step`, and `observe(state, exit_layers,
first_confidence, exit_confidence)`; simulation and `sweep` run the same bandit on every arm's precomputed exits
(`play_bandits`), with identical decisions.
"""

from __future__ import annotations

import math

import numpy as np

from ..catalogue import choice, integer, number, number_list
from ..exits import max_probability
from .base import ExitPolicy, State
from .simulation import run_steps
from .sweeps import first_crossing

STREAM_ORDERS = ("file", "shuffled")
DEFAULT_ARMS = tuple(np.round(np.arange(0.50, 0.951, 0.05), 2).tolist())
FIT_CANDIDATES = 41
REWARD_CHUNK = 1024


DEFAULT_EXPLORATION = math.sqrt(2.0)  # the notebooks' c̃ = 2 = exploration·√2


def ucb_index(sums: np.ndarray, counts: np.ndarray, observed: int, exploration: float) -> np.ndarray:
    """UCB index [K, A] of each arm; +inf for arms not tried yet."""
    with np.errstate(divide="ignore", invalid="ignore"):
        index = sums / counts + exploration * np.sqrt(2.0 * math.log(max(observed, 1)) / counts)
    return np.where(counts > 0, index, np.inf)


def play_bandits(gains, depths, overheads, batch_size: int, exploration: float) -> np.ndarray:
    """The arm each of K bandits (one per overhead) plays for each stream position: [K, N].

    gains and depths [A, N] are every arm's C_e − C_1 and e − 1 in stream order. The first A batches play the
    untried arms in order (their index is +inf); after that every count is > 0, so the index needs no inf check.
    Every number is computed by the same floating-point operations as `ucb_index` and `observe`, so the
    decisions are identical to the incremental path's."""
    overheads = np.asarray(overheads, dtype=np.float64)
    if overheads.size == 1 and batch_size == 1:
        rewards = (gains - overheads[0] * depths).tolist()
        return np.asarray(_play_one_sequential(rewards, exploration), dtype=np.int64)[None, :]
    k, (n_arms, n) = overheads.size, gains.shape
    # Flat [K·A] statistics: one-dimensional fancy indexing is several times cheaper than [rows, arm] pairs.
    sums, counts = np.zeros(k * n_arms), np.zeros(k * n_arms)
    sums_2d, counts_2d = sums.reshape(k, n_arms), counts.reshape(k, n_arms)
    first_cell = np.arange(k) * n_arms
    played = np.empty((-(-n // batch_size), k), dtype=np.int64)  # the arm of each batch
    rewards = None
    for batch, begin in enumerate(range(0, n, batch_size)):
        end = min(begin + batch_size, n)
        if batch < n_arms:
            arm = np.full(k, batch)
        else:
            index = np.sqrt(2.0 * math.log(begin) / counts_2d)
            index *= exploration
            index += sums_2d / counts_2d
            arm = index.argmax(axis=1)
        cell = first_cell + arm
        if batch_size == 1:  # every bandit's reward of every arm, [steps, K·A], a chunk of steps at a time
            if begin % REWARD_CHUNK == 0:
                chunk = slice(begin, begin + REWARD_CHUNK)
                rewards = (gains[None, :, chunk] - overheads[:, None, None] * depths[None, :, chunk])
                rewards = rewards.reshape(k * n_arms, -1).T.copy()
            sums[cell] += rewards[begin % REWARD_CHUNK, cell]
        else:
            sums[cell] += (gains[arm, begin:end] - overheads[:, None] * depths[arm, begin:end]).sum(axis=1)
        counts[cell] += end - begin
        played[batch] = arm
    return np.repeat(played.T, batch_size, axis=1)[:, :n]


def _play_one_sequential(rewards: list[list[float]], exploration: float) -> list[int]:
    """One bandit, one sample a step, on per-arm rewards [A][N]: plain Python floats, which for A ≈ 10 arms is
    several times faster than NumPy calls on arrays that small (the same IEEE operations, so the same values)."""
    n_arms, n = len(rewards), len(rewards[0]) if rewards else 0
    sums, counts = [0.0] * n_arms, [0.0] * n_arms
    arms = range(n_arms)
    played = []
    for t in range(n):
        if t < n_arms:
            arm = t
        else:
            scale = 2.0 * math.log(t)
            index = [math.sqrt(scale / counts[a]) * exploration + sums[a] / counts[a] for a in arms]
            arm = index.index(max(index))
        sums[arm] += rewards[arm][t]
        counts[arm] += 1.0
        played.append(arm)
    return played


class UcbPolicy(ExitPolicy):
    id = "ucb"
    knob = "overhead"
    online = True

    params = {
        "overhead": number("per-layer overhead o in the reward; null = chosen by fit", minimum=0),
        "thresholds": number_list("the arms: confidence thresholds; null = 0.50, 0.55, …, 0.95", minimum=0, maximum=1),
        "exploration": number("weight of the UCB exploration bonus (√2 = the authors' c̃ = 2)", minimum=0),
        "batch_size": integer("samples per bandit round (1 = sequential)"),
        "order_seed": integer("seed of the shuffled stream orders", minimum=0),
        "stream_order": choice("order the samples reach the bandit in: the file's, or seeded shuffles averaged",
                               STREAM_ORDERS),
        "n_shuffles": integer("shuffled order: how many seeded shuffles are averaged"),
    }

    def __init__(self, overhead=None, thresholds=None, exploration=DEFAULT_EXPLORATION, batch_size=1, order_seed=0,
                 stream_order="file", n_shuffles=5):
        self.overhead = overhead
        self.thresholds = thresholds
        self.exploration = exploration
        self.batch_size = batch_size
        self.order_seed = order_seed
        self.stream_order = stream_order
        self.n_shuffles = n_shuffles

    @property
    def arms(self) -> np.ndarray:
        return np.asarray(self.thresholds if self.thresholds is not None else DEFAULT_ARMS, dtype=np.float64)

    def stream_orders(self, n: int) -> list[np.ndarray]:
        """The sample orders the bandit plays, one fresh bandit each: the file's, or `n_shuffles` permutations."""
        if self.stream_order == "file":
            return [np.arange(n)]
        rng = np.random.default_rng(self.order_seed)
        return [rng.permutation(n) for _ in range(self.n_shuffles)]

    @staticmethod
    def reported_by(order_index: int, n_orders: int, n: int) -> np.ndarray:
        """Which samples (mask [N]) report their exit from stream `order_index`: sample n from stream n mod S."""
        return np.arange(n) % n_orders == order_index

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
        return (max_probability(logits_l) >= state.threshold) & (layer not in self.closed_layers())

    def observe(self, state, exit_layers, first_confidence, exit_confidence) -> None:
        """Credit the batch's rewards (C_e − C_1) − o·(e − 1) to its arm."""
        rewards = (exit_confidence - first_confidence) - self.knob_value() * (exit_layers - 1).astype(np.float64)
        arm = int(state.arm[0])
        self._sums[0, arm] += rewards.sum()
        self._counts[0, arm] += rewards.size
        self._observed += rewards.size

    def run_stream(self, logits, **inputs) -> np.ndarray:
        """Exit layers [N] of the bandit over the stream (the fast path of `step`/`observe`, same decisions)."""
        return self.sweep(logits, [self.knob_value()])[0]

    def run_stream_steps(self, logits) -> np.ndarray:
        """The same streams through the incremental interface real inference uses, batch by batch."""
        n = logits.shape[0]
        orders = self.stream_orders(n)
        exit_layers = np.empty(n, dtype=np.int64)
        for index, order in enumerate(orders):
            self.reset_stream()
            stream_exits = np.empty(n, dtype=np.int64)
            for begin in range(0, order.size, self.batch_size):
                batch = order[begin : begin + self.batch_size]
                state = self.start(batch.size)
                exits = run_steps(self, logits[batch], state)
                self.observe(state, exits, max_probability(logits[batch, 0]),
                             max_probability(logits[batch, exits - 1]))
                stream_exits[batch] = exits
            reported = self.reported_by(index, len(orders), n)
            exit_layers[reported] = stream_exits[reported]
        return exit_layers

    # -- the vectorised path: K bandits (one per overhead value) on precomputed per-arm outcomes -------------------
    def arm_outcomes(self, logits):
        """Per arm, in the samples' order: exit layers [A, N], confidence gains C_e − C_1 and depths e − 1."""
        confidences = max_probability(logits)
        exits = first_crossing(self.with_closed_exits(confidences), self.arms)
        gains = confidences[np.arange(logits.shape[0]), exits - 1] - confidences[:, 0]
        return exits, gains, (exits - 1).astype(np.float64)

    def sweep(self, logits, values, **inputs):
        n = logits.shape[0]
        exits, gains, depths = self.arm_outcomes(logits)
        orders = self.stream_orders(n)
        result = np.empty((len(values), n), dtype=np.int64)
        for index, order in enumerate(orders):
            played = play_bandits(gains[:, order], depths[:, order], values, self.batch_size, self.exploration)
            stream_exits = np.empty(played.shape, dtype=np.int64)
            stream_exits[:, order] = exits[played, order[None, :]]
            reported = self.reported_by(index, len(orders), n)
            result[:, reported] = stream_exits[:, reported]
        return result

    def curve_values(self, logits, n_points, **inputs):
        # Past o = 1 / (L - 1) no confidence gain can pay for going from exit 1 to exit L.
        return np.linspace(0.0, 1.0 / max(logits.shape[1] - 1, 1), n_points)

    def fit_candidates(self, logits, inputs):
        return self.curve_values(logits, FIT_CANDIDATES)

    def hindsight_exits(self, logits) -> tuple[float, np.ndarray]:
        """The fixed threshold with the largest total reward on these samples, and its exit layers [N]."""
        exits, gains, depths = self.arm_outcomes(logits)
        totals = (gains - self.knob_value() * depths).sum(axis=1)
        best = int(np.argmax(totals))
        return float(self.arms[best]), exits[best]
