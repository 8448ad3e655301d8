"""Hand-worked examples of the core policies: final, static-k, maxprob, entropy, norm-entropy, patience."""

import numpy as np
import pytest

from eebench.errors import ConfigError, DataError
from eebench.policies import make_policy, simulate
from eebench.exits import softmax_entropy
from policy_helpers import binary, logits_from_probs


def exits_of(policy_id, logits, **params):
    return simulate(make_policy(policy_id, **params), logits)[0].tolist()


def test_final_exits_at_last_layer():
    logits = binary([0.99, 0.99, 0.99], [0.5, 0.6, 0.7])
    assert exits_of("final", logits) == [3, 3]


def test_static_exits_at_k_and_alias():
    logits = binary([0.99, 0.2, 0.9], [0.5, 0.6, 0.7])
    assert exits_of("static-k", logits, layer=2) == [2, 2]
    assert exits_of("static", logits, layer=1) == [1, 1]
    with pytest.raises(ConfigError, match="layer=4"):
        exits_of("static-k", logits, layer=4)


def test_maxprob_threshold():
    # C_i = max(p, 1 - p). Sample 0: C = 0.6, 0.95 -> 0.95 >= 0.9 at exit 2. Sample 1: C = 0.8, 0.85, 0.7 never
    # reaches 0.9 -> final exit 3. Sample 2: C_1 = 0.9 (p = 0.1) >= 0.9 -> exit 1 (>= is inclusive).
    logits = logits_from_probs([[[0.4, 0.6], [0.05, 0.95], [0.5, 0.5]],
                                [[0.2, 0.8], [0.85, 0.15], [0.3, 0.7]],
                                [[0.9, 0.1], [0.5, 0.5], [0.5, 0.5]]])
    exit_layer, prediction = simulate(make_policy("maxprob", threshold=0.9), logits.astype(np.float64))
    assert exit_layer.tolist() == [2, 3, 1]
    assert prediction.tolist() == [1, 1, 0]


def test_argmax_ties_pick_lowest_class():
    logits = np.zeros((1, 2, 3), dtype=np.float32)  # all classes tie at every exit
    assert simulate(make_policy("final"), logits)[1].tolist() == [0]


def test_entropy_deebert_rule():
    # H(p) = -p ln p - (1-p) ln(1-p). H(0.5) = ln 2 = 0.693, H(0.9) = 0.325, H(0.99) = 0.056.
    # S = 0.33: sample 0 exits at exit 2 (0.325 < 0.33); sample 1 (0.5, 0.5, ...) goes to the final exit 3.
    logits = binary([0.5, 0.9, 0.99], [0.5, 0.5, 0.99])
    assert exits_of("entropy", logits, threshold=0.33) == [2, 3]
    # S = 0.32 < H(0.9): sample 0 waits for exit 3; at the final exit everyone exits anyway.
    assert exits_of("entropy", logits, threshold=0.32) == [3, 3]
    # Strict "<": with S equal to the computed entropy itself, that exit does not fire.
    exact = float(softmax_entropy(logits[:, 1])[0])
    assert exits_of("entropy", logits, threshold=exact) == [3, 3]


def test_norm_entropy_fastbert_rule():
    # Three classes: ln 3 = 1.0986. p = (0.8, 0.1, 0.1): H = 0.639, H / ln 3 = 0.582; uniform: 1.0.
    logits = logits_from_probs([[[1 / 3] * 3, [0.8, 0.1, 0.1], [0.8, 0.1, 0.1]]])
    assert exits_of("norm-entropy", logits, threshold=0.6) == [2]
    assert exits_of("norm-entropy", logits, threshold=0.58) == [3]


def test_patience_pabee_rule():
    # Predictions per exit (argmax): sample 0: 1,1,1,0,0 -> counter 0,1,2 -> exits at 3 with t = 2.
    # Sample 1: 1,0,1,0,1 -> counter never above 0 -> final exit 5. Sample 2: 0,0,1,1,1 -> counter 0,1,0,1,2 -> 5
    # with t = 2; with t = 1 it exits at 2.
    logits = binary([0.9, 0.8, 0.7, 0.2, 0.1], [0.9, 0.2, 0.9, 0.2, 0.9], [0.1, 0.2, 0.9, 0.8, 0.7])
    assert exits_of("patience", logits, patience=2) == [3, 5, 5]
    assert exits_of("patience", logits, patience=1) == [2, 5, 2]


def test_patience_regression_agreement():
    # Outputs 1.0, 1.05, 1.08, 2.0: |diff| = 0.05, 0.03, 0.92 -> counter 0, 1, 2 -> exit 3 with t = 2, eps = 0.1.
    # With eps = 0.04 only the second difference agrees -> counter 0, 0, 1, 0 -> final exit 4.
    logits = np.array([[[1.0], [1.05], [1.08], [2.0]]], dtype=np.float64)
    assert exits_of("patience", logits, patience=2, eps=0.1) == [3]
    assert exits_of("patience", logits, patience=2, eps=0.04) == [4]


@pytest.mark.parametrize("policy_id", ["maxprob", "entropy", "norm-entropy"])
def test_probability_policies_reject_regression(policy_id):
    logits = np.zeros((3, 2, 1), dtype=np.float32)
    with pytest.raises(ConfigError, match="does not support regression"):
        make_policy(policy_id).fit(logits, np.zeros(3))


@pytest.mark.parametrize("policy_id", ["final", "static-k", "maxprob", "entropy", "patience"])
def test_single_exit(policy_id):
    logits = binary([0.7], [0.2])
    policy = make_policy(policy_id).fit(logits, np.array([1, 0]))
    assert simulate(policy, logits)[0].tolist() == [1, 1]


def test_nan_logits_and_empty_split_are_clear_errors():
    logits = binary([0.7, 0.8], [0.2, 0.4])
    logits[1, 1, 0] = np.nan
    with pytest.raises(DataError, match="NaN or inf"):
        make_policy("maxprob").fit(logits, np.array([1, 0]))
    with pytest.raises(DataError, match="no samples"):
        make_policy("maxprob").fit(np.zeros((0, 2, 2), dtype=np.float32), np.zeros(0))


def test_unknown_policy_and_parameter():
    with pytest.raises(ConfigError, match="valid policies: .*maxprob"):
        make_policy("maxprobz")
    with pytest.raises(ConfigError, match="'treshold': unknown option; allowed options: threshold"):
        make_policy("maxprob", treshold=0.9)
    with pytest.raises(ConfigError, match=r"'threshold': got 1.5, expected a finite number in \[0, 1\]"):
        make_policy("maxprob", threshold=1.5)


def test_constructor_only_stores_and_fit_checks_the_parameters():
    """scikit-learn style: a bad parameter given to the class directly is rejected by fit, not silently used."""
    from eebench.policies.maxprob import MaxProbPolicy

    policy = MaxProbPolicy(threshold=float("nan"))
    assert np.isnan(policy.threshold)
    with pytest.raises(ConfigError, match="policy 'maxprob', option 'threshold': got nan"):
        policy.fit(binary([0.7, 0.8]), np.array([0, 1]))


def test_bad_labels_are_clear():
    with pytest.raises(DataError, match="class indices 0..1"):
        make_policy("maxprob").fit(binary([0.7, 0.8]), np.array([2]))
