"""Every policy agrees sample by sample with a plain per-sample reference written straight from the method's
definition (Python floats and loops, no eebench code): fitted on random val logits, compared on independent
random test logits (so no test score sits exactly on a threshold taken from val)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from eebench.policies import POLICIES, make_policy, simulate
from policy_helpers import synthetic_exits

N_EXITS, N_CLASSES = 5, 3


# -- per-sample quantities, from the definitions ---------------------------------------------------------------
def probabilities(z) -> list[float]:
    top = max(z)
    e = [math.exp(v - top) for v in z]
    return [v / sum(e) for v in e]


def argmax(z) -> int:
    return list(z).index(max(z))  # the lowest index on ties


def confidence(z) -> float:
    return max(probabilities(z))


def entropy(z) -> float:
    return -sum(p * math.log(p) for p in probabilities(z) if p > 0)


def first_exit(sample, exits_at) -> int:
    """1-based first exit i < L for which exits_at(i, sample) holds, else L."""
    for i in range(1, len(sample)):
        if exits_at(i, sample):
            return i
    return len(sample)


# -- one reference per policy: (fitted policy, test logits [N, L, C], test labels, extras) -> exit layers ----------
def ref_final(policy, logits, labels, extras):
    return [len(sample) for sample in logits]


def ref_static(policy, logits, labels, extras):
    return [min(policy.knob_value(), len(sample)) for sample in logits]


def ref_maxprob(policy, logits, labels, extras):
    tau = policy.knob_value()
    return [first_exit(s, lambda i, s: confidence(s[i - 1]) >= tau) for s in logits]


def ref_entropy(policy, logits, labels, extras):
    thresholds = per_exit_thresholds(policy)
    return [first_exit(s, lambda i, s: entropy(s[i - 1]) < thresholds[i - 1]) for s in logits]


def ref_norm_entropy(policy, logits, labels, extras):
    thresholds = per_exit_thresholds(policy)
    return [first_exit(s, lambda i, s: entropy(s[i - 1]) / math.log(len(s[i - 1])) < thresholds[i - 1])
            for s in logits]


def per_exit_thresholds(policy):
    if policy.uses_per_exit():
        return list(policy.thresholds_)
    return [policy.knob_value()] * N_EXITS


def counter_exit(sample, patience, grows) -> int:
    """1-based exit where a counter, +1 when grows(i) and reset to 0 otherwise, first reaches `patience`."""
    counter = 0
    for i in range(1, len(sample)):
        counter = counter + 1 if grows(i) else 0
        if counter == patience:
            return i
    return len(sample)


def ref_patience(policy, logits, labels, extras):
    return [counter_exit(s, policy.knob_value(), lambda i, s=s: i > 1 and argmax(s[i - 1]) == argmax(s[i - 2]))
            for s in logits]


def ref_patience_confidence(policy, logits, labels, extras):
    tau = policy.knob_value()

    def confident(z):
        if policy.confidence == "maxprob":
            return confidence(z) >= tau
        return entropy(z) / math.log(len(z)) < tau

    return [counter_exit(s, policy.knob_value("patience"), lambda i, s=s: confident(s[i - 1])) for s in logits]


def ref_beem(policy, logits, labels, extras):
    w = [float(v) for v in policy.weights_]
    if policy.threshold_rule == "error-rate":
        alphas = [math.inf if a is None else float(a) for a in policy.thresholds_]  # None: closed
    else:
        alphas = [policy.knob_value()] * N_EXITS
    result = []
    for sample in logits:
        score, exit_layer = 0.0, len(sample)
        for i in range(1, len(sample)):
            z, gain = sample[i - 1], w[i - 1] * confidence(sample[i - 1])
            if i == 1 or argmax(z) != argmax(sample[i - 2]):
                score = gain if policy.restart == "score" else 0.0
            else:
                score += gain
            chain = policy.restart == "score" or score > 0  # "zero": no agreeing chain, no exit
            if chain and score >= alphas[i - 1]:
                exit_layer = i
                break
        result.append(exit_layer)
    return result


def ref_pcee(policy, logits, labels, extras, window=0):
    val_logits, val_labels = extras["val"]
    bins, delta = policy.bins, policy.knob_value()
    window = getattr(policy, "window", 0)
    accuracy = []  # per exit, per bin, from val
    for i in range(N_EXITS):
        counts, right = [0] * bins, [0] * bins
        for sample, label in zip(val_logits, val_labels):
            b = min(int(confidence(sample[i]) * bins), bins - 1)
            counts[b] += 1
            right[b] += argmax(sample[i]) == label
        table = []
        for b in range(bins):
            near = range(max(b - window, 0), min(b + window, bins - 1) + 1)
            n = sum(counts[j] for j in near)
            table.append(sum(right[j] for j in near) / n if n else -1.0)
        accuracy.append(table)
    return [first_exit(s, lambda i, s: accuracy[i - 1][min(int(confidence(s[i - 1]) * bins), bins - 1)] >= delta)
            for s in logits]


def ref_ucb(policy, logits, labels, extras):
    arms, o, c = [float(a) for a in policy.arms], policy.knob_value(), policy.exploration
    if policy.stream_order == "file":
        orders = [range(len(logits))]
    else:
        rng = np.random.default_rng(policy.order_seed)
        orders = [rng.permutation(len(logits)).tolist() for _ in range(policy.n_shuffles)]
    result = [0] * len(logits)
    for s, order in enumerate(orders):  # a fresh bandit per stream; sample n reports from stream n mod S
        sums, counts = [0.0] * len(arms), [0] * len(arms)
        for t, n in enumerate(order):
            if t < len(arms):
                arm = t  # untried arms first
            else:
                index = [sums[a] / counts[a] + c * math.sqrt(2 * math.log(t) / counts[a]) for a in range(len(arms))]
                arm = index.index(max(index))
            sample = logits[n]
            e = first_exit(sample, lambda i, s: confidence(s[i - 1]) >= arms[arm])
            sums[arm] += confidence(sample[e - 1]) - confidence(sample[0]) - o * (e - 1)
            counts[arm] += 1
            if n % len(orders) == s:
                result[n] = e
    return result


def ref_oracle(policy, logits, labels, extras):
    return [first_exit(s, lambda i, s: argmax(s[i - 1]) == label) for s, label in zip(logits, labels)]


def ref_risk_control(policy, logits, labels, extras):
    lam = policy.threshold_for(policy.knob_value())  # the certified λ (the fixed-sequence test is tested elsewhere)
    return [first_exit(s, lambda i, s: confidence(s[i - 1]) >= lam) for s in logits]


def ref_lte(policy, logits, labels, extras):
    thresholds = per_exit_thresholds(policy)
    scores = extras["lte_scores"]
    return [first_exit(s, lambda i, s, n=n: scores[n][i - 1] >= thresholds[i - 1]) for n, s in enumerate(logits)]


REFERENCES = {
    "final": ref_final, "static-k": ref_static, "maxprob": ref_maxprob, "entropy": ref_entropy,
    "norm-entropy": ref_norm_entropy, "patience": ref_patience, "patience-confidence": ref_patience_confidence,
    "beem-c": ref_beem, "beem-a": ref_beem, "pcee": ref_pcee, "pcee-ws": ref_pcee, "ucb": ref_ucb,
    "oracle": ref_oracle, "risk-control": ref_risk_control, "lte": ref_lte,
}
CASES = [(pid, {}) for pid in REFERENCES] + [
    ("static-k", {"layer": 3}),
    ("entropy", {"per_exit": True}), ("norm-entropy", {"per_exit": True}), ("lte", {"per_exit": True}),
    ("patience-confidence", {"confidence": "maxprob"}),
    ("beem-c", {"restart": "zero"}), ("beem-a", {"restart": "zero", "threshold_rule": "error-rate"}),
    ("beem-c", {"threshold_rule": "error-rate", "min_exit_samples": 1, "error_confidence": None}),
    ("pcee-ws", {"window": 2, "bins": 8}),
    ("ucb", {"exploration": 0.5, "stream_order": "shuffled", "order_seed": 3}),
    ("ucb", {"stream_order": "shuffled", "n_shuffles": 2}),
]


def test_every_policy_has_a_reference():
    assert set(REFERENCES) == set(POLICIES)


@pytest.mark.parametrize("policy_id,params", CASES, ids=[f"{p}-{i}" for i, (p, _) in enumerate(CASES)])
def test_policy_matches_its_per_sample_reference(policy_id, params):
    val_logits, val_labels = synthetic_exits(n=300, n_exits=N_EXITS, n_classes=N_CLASSES, seed=11, signal=0.4)
    test_logits, test_labels = synthetic_exits(n=300, n_exits=N_EXITS, n_classes=N_CLASSES, seed=12, signal=0.4)
    rng = np.random.default_rng(5)
    val_lte, test_lte = rng.random((300, N_EXITS)), rng.random((300, N_EXITS))
    inputs = {"lte_scores": val_lte} if policy_id == "lte" else {}
    policy = make_policy(policy_id, **params).fit(val_logits, val_labels, tolerance=0.05, **inputs)
    test_inputs = {"lte_scores": test_lte} if policy_id == "lte" else {}
    exits, _ = simulate(policy, test_logits, test_labels, **test_inputs)
    extras = {"val": (val_logits.astype(np.float64).tolist(), val_labels.tolist()), "lte_scores": test_lte.tolist()}
    expected = REFERENCES[policy_id](policy, test_logits.astype(np.float64).tolist(), test_labels.tolist(), extras)
    assert exits.tolist() == expected
    assert len(set(expected)) > 1 or policy_id in ("final", "static-k")  # the case exercises the rule
