"""Hand-worked examples of the issue-3 methods: PCEE-BERT, BEEM-C/-A (both threshold rules), PCEE/PCEE-WS,
UCB, oracle, risk control and BERxiT's learning-to-exit."""

import json

import numpy as np
import pytest

from eebench.errors import ConfigError, DataError
from eebench.policies import make_policy, policy_from_dict, simulate
from eebench.policies.risk_control import binomial_cdf
from eebench.policies.ucb import play_bandits
from policy_helpers import binary, logits_from_probs, synthetic_exits


def exits_of(policy, logits, labels=None, **inputs):
    return simulate(policy, logits, labels, **inputs)[0].tolist()


def test_patience_confidence_counts_consecutive_confident_exits():
    # Max-prob: τ = 0.8, t = 2. Sample 0: C = 0.9, 0.6, 0.85, 0.9, 0.95 -> counter 1, 0, 1, 2 -> exit 4.
    # Sample 1: C = 0.9, 0.9, ... -> counter 1, 2 -> exit 2 (predictions may change: only confidence counts).
    logits = binary([0.9, 0.6, 0.85, 0.9, 0.95], [0.9, 0.1, 0.5, 0.5, 0.5])
    policy = make_policy("patience-confidence", patience=2, threshold=0.8, confidence="maxprob")
    assert exits_of(policy, logits) == [4, 2]
    assert exits_of(make_policy("patience-confidence", patience=1, threshold=0.8, confidence="maxprob"),
                    logits) == [1, 1]


def test_patience_confidence_counts_normalised_entropy_by_default():
    # The authors' measure (PCEE-BERT normal_shannon_entropy): u = H(p) / ln C < τ. Three classes:
    # p = (0.6, 0.2, 0.2): H = -(0.6 ln 0.6 + 0.4 ln 0.2) = 0.3065 + 0.6438 = 0.9503, u = 0.9503 / ln 3 = 0.8650.
    # p = (0.5, 0.5, 0.0+): H = ln 2 = 0.6931, u = 0.6309. So at τ = 0.7 the second is confident and the first
    # is not, although its max-prob is higher (0.6 > 0.5): max-prob at τ = 0.55 says the opposite.
    first, second = [0.6, 0.2, 0.2], [0.5, 0.5 - 1e-9, 1e-9]
    assert -(0.6 * np.log(0.6) + 0.4 * np.log(0.2)) / np.log(3) == pytest.approx(0.8650, abs=1e-4)
    assert np.log(2) / np.log(3) == pytest.approx(0.6309, abs=1e-4)
    logits = logits_from_probs([[second, second, first, first], [first, first, second, second]])
    # t = 2: sample 0 confident at exits 1, 2 -> exit 2; sample 1 confident at 3, 4 -> only the final exit 4.
    assert exits_of(make_policy("patience-confidence", patience=2, threshold=0.7), logits) == [2, 4]
    assert exits_of(make_policy("patience-confidence", patience=2, threshold=0.55, confidence="maxprob"),
                    logits) == [4, 2]
    with pytest.raises(ConfigError, match="option 'confidence': got 'entropy', expected one of 'norm-entropy', 'maxprob'"):
        make_policy("patience-confidence", confidence="entropy")


def test_beem_score_and_restarts():
    # Weights w = (0.2, 0.4, 0.6, 0.8). Sample 0 predicts 1,1,1,1 with C = 0.6, 0.6, 0.7, 0.9:
    # S = 0.12, 0.12 + 0.24 = 0.36, 0.36 + 0.42 = 0.78 -> exit 3 at α = 0.6 or 0.7.
    # Sample 1 predicts 1,0,0,... with C = 0.9, 0.8, 0.8: S = 0.18; disagreement -> restart at w_2·C_2 = 0.32
    # ("score") then 0.32 + 0.48 = 0.80 -> exit 3.
    logits = binary([0.6, 0.6, 0.7, 0.9], [0.9, 0.2, 0.2, 0.2])
    weights = [0.2, 0.4, 0.6, 0.8]
    assert exits_of(make_policy("beem-c", alpha=0.7, weights=weights), logits) == [3, 3]
    assert exits_of(make_policy("beem-c", alpha=0.6, weights=weights), logits) == [3, 3]
    # The released code (Div290/BEEM1 modeling_albert.py): confidence = 0 at the first exit and after every
    # disagreement; an agreeing exit adds w_i·C_i. Sample 0: 0, 0.24, 0.24 + 0.42 = 0.66 -> exit 3 at α = 0.6,
    # final exit 4 at α = 0.7. Sample 1: 0, 0 (disagrees), 0.48 -> final exit 4 at both.
    assert exits_of(make_policy("beem-c", alpha=0.6, weights=weights, restart="zero"), logits) == [3, 4]
    assert exits_of(make_policy("beem-c", alpha=0.7, weights=weights, restart="zero"), logits) == [4, 4]
    # The earliest exit is exit 2, whatever α: a chain needs two agreeing exits (α = 0 exits on any chain:
    # sample 0 at exit 2, sample 1 at exit 3, the first agreement after its break).
    assert exits_of(make_policy("beem-c", alpha=0.0, weights=weights, restart="zero"), logits) == [2, 3]


def test_beem_default_weights():
    logits, labels = synthetic_exits(n=200, n_exits=4)
    costs = np.array([10.0, 30.0, 60.0, 100.0])
    beem_c = make_policy("beem-c", alpha=1.0).fit(logits, labels, costs)
    assert beem_c.weights_.tolist() == pytest.approx([0.1, 0.3, 0.6, 1.0])  # c_i / c_L
    assert make_policy("beem-c", alpha=1.0).fit(logits, labels).weights_.tolist() == pytest.approx([.25, .5, .75, 1])
    beem_a = make_policy("beem-a", alpha=1.0).fit(logits, labels)
    assert beem_a.weights_ == pytest.approx((logits.argmax(2) == labels[:, None]).mean(0))
    with pytest.raises(ConfigError, match="option 'cost_scale': unknown option"):
        make_policy("beem-c", cost_scale=2.0)


def test_beem_c_released_weight_scheme_is_the_authors_code_at_any_depth():
    """Div290/BEEM1 e3bert/modeling_albert.py weighs exit i by 0.4·(i − 1). With restart zero, one sample whose
    exits 1-3 agree with max-probabilities 0.9, 0.8, 0.7 (binary logits): S_1 = 0, S_2 = 0.4·0.8 = 0.32,
    S_3 = 0.32 + 0.8·0.7 = 0.88; so α = 0.3 exits at 2 and α = 0.5 at 3, whatever the exits' costs."""
    costs = np.array([10.0, 30.0, 60.0, 100.0])
    for n_exits in (4, 6, 12):
        logits, labels = synthetic_exits(n=50, n_exits=n_exits)
        fitted = make_policy("beem-c", alpha=1.0, weight_scheme="released").fit(logits, labels)
        assert fitted.weights_.tolist() == pytest.approx([0.4 * i for i in range(n_exits)])
        by_index = make_policy("beem-c", alpha=1.0, weight_scheme="index").fit(logits, labels, np.geomspace(1, 9, n_exits))
        assert by_index.weights_.tolist() == pytest.approx([(i + 1) / n_exits for i in range(n_exits)])
    logits = logits_from_probs(np.array([[[0.1, 0.9], [0.2, 0.8], [0.3, 0.7], [0.4, 0.6]]]))
    for alpha, exit_layer in ((0.3, 2), (0.5, 3)):
        policy = make_policy("beem-c", alpha=alpha, restart="zero", weight_scheme="released")
        fitted = policy.fit(logits, np.array([1]), costs, keep_degenerate_exits=True)  # one sample: one class
        assert exits_of(fitted, logits) == [exit_layer]
    with pytest.raises(ConfigError, match="weight_scheme"):
        make_policy("beem-c", weight_scheme="papers")


def test_beem_error_rate_rule():
    # Weights 1, so S_1 = C_1. P(class 1) per exit and labels (all 1): the second sample is wrong at exits 1 and
    # 3, so the final exit's error rate p_t = 1/4. Exit 1 sorted by S_1: 0.95 (right), 0.9 (wrong), 0.8 (right),
    # 0.7 (right): error rates of the top-k sets are 0, 1/2, 1/3, 1/4 -> the lowest α with rate <= 1/4 is 0.7,
    # so everyone exits at exit 1. (Labels of one class make every exit "degenerate", no better than the
    # majority, so the fits here keep degenerate exits open: this is the threshold rule alone.)
    logits = binary([0.95, 0.95, 0.95], [0.1, 0.5, 0.1], [0.8, 0.8, 0.8], [0.7, 0.7, 0.7])
    policy = make_policy("beem-c", weights=[1, 1, 1], threshold_rule="error-rate", min_exit_samples=1,
                         error_confidence=None).fit(logits, np.ones(4, int), keep_degenerate_exits=True)
    assert policy.thresholds_[0] == pytest.approx(0.7, abs=1e-6)
    assert exits_of(policy, logits) == [1, 1, 1, 1]
    # Label the first sample 0: it is wrong at exits 1 and 3 too, p_t = 2/4; exit-1 rates are 1, 1, 2/3, 2/4,
    # so again only α = 0.7 qualifies. With p_t = 0 (labels making the final exit always right) nobody may exit
    # where an error would be let through: the first sample's exit-1 set {0.95} is clean, so α_1 = 0.95.
    policy.fit(logits, np.array([0, 1, 1, 1]), keep_degenerate_exits=True)
    assert policy.thresholds_[0] == pytest.approx(0.7, abs=1e-6)
    clean = binary([0.95, 0.95, 0.95], [0.1, 0.5, 0.9], [0.8, 0.8, 0.8])
    policy.fit(clean, np.ones(3, int), keep_degenerate_exits=True)
    assert policy.thresholds_[0] == pytest.approx(0.95, abs=1e-6)
    # Exit 2 sees samples 2 and 3, both chains intact: S_2 = 0.9 + 0.5 = 1.4 (wrong: tie -> class 0) and
    # 0.8 + 0.8 = 1.6 (right) -> α_2 = 1.6, so the third sample exits at 2 and the second runs to 3.
    assert exits_of(policy, clean) == [1, 3, 2]


def test_beem_error_rate_rule_minimum_count_and_clopper_pearson():
    # Exit 1 of 2, weights 1 so S_1 = C_1. 40 samples: 10 at C_1 = 0.95 all right, 30 at 0.6 with 3 wrong at
    # exit 1; the final exit is wrong on 4 of 40, p_L = 0.1.
    p1 = [0.95] * 10 + [0.6] * 30
    final = [0.9] * 36 + [0.1] * 4
    labels = np.ones(40, int)
    logits = binary(*[[a, b] for a, b in zip(p1, final)])
    wrong_early = [10, 11, 12]  # predict class 0 at exit 1 for these (P(class 1) = 0.4 -> C_1 = 0.6)
    logits[wrong_early, 0] = binary([0.4, 0.9])[0, 0]

    def threshold(**params):  # one class in the labels: keep the "degenerate" exit 1 open to test the rule alone
        return make_policy("beem-c", weights=[1, 1], threshold_rule="error-rate", **params).fit(
            logits, labels, keep_degenerate_exits=True).thresholds_[0]

    # Plain rule: all 40 have error 3/40 = 0.075 <= 0.1, so α_1 = 0.6.
    assert threshold(min_exit_samples=1, error_confidence=None) == pytest.approx(0.6, abs=1e-6)
    # Needing 11 exiting samples rules out the clean top-10 group, still α_1 = 0.6; needing 41 rules out all.
    assert threshold(min_exit_samples=11, error_confidence=None) == pytest.approx(0.6, abs=1e-6)
    assert threshold(min_exit_samples=41, error_confidence=None) is None  # closed
    # Clopper-Pearson at 90 %: 0 errors in 10 -> U = 1 - 0.1^(1/10) = 0.206 > 0.1; 3 errors in 40 -> U ≈ 0.17
    # > 0.1 (the Beta(4, 37) 90 % quantile): no α qualifies, exit 1 is closed.
    assert 1 - 0.1 ** (1 / 10) == pytest.approx(0.2057, abs=1e-4)
    from scipy.stats import beta
    assert beta.ppf(0.9, 4, 37) > 0.1
    assert threshold(min_exit_samples=1, error_confidence=0.9) is None
    # At 20 % confidence the bounds are 1 - 0.8^(1/10) = 0.022 <= 0.1 for the clean ten and beta.ppf(0.2, 4, 37)
    # ≈ 0.05 <= 0.1 for all 40: α_1 = 0.6 again.
    assert beta.ppf(0.2, 4, 37) < 0.1
    assert threshold(min_exit_samples=1, error_confidence=0.2) == pytest.approx(0.6, abs=1e-6)


def test_beem_error_rate_rule_closes_an_exit_no_threshold_qualifies_for():
    # BEEM's plain rule (min_exit_samples=1, no bound), weights 1, restart "score", 3 exits. P(class 1) per exit:
    #   val  y  exit 1               exit 2                              final
    #   s0   1  0.1: ŷ=0 wrong, C .9  0.7: ŷ=1, chain broken, S_2 = .7    right
    #   s1   1  0.8: right, C .8      0.9: S_2 = .8 + .9 = 1.7            right
    #   s2   1  0.6: right, C .6      0.6: S_2 = 1.2                      right
    #   s3   0  0.3: right, C .7      0.2: S_2 = .7 + .8 = 1.5            right
    #   s4   0  0.25: right, C .75    0.35: S_2 = .75 + .65 = 1.4         right
    # The final exit is always right, p_L = 0. Exit 1 sorted by S_1: .9 (wrong), .8, .75, .7, .6 -> the top-k
    # error rates 1, 1/2, 1/3, 1/4, 1/5 are all > 0: no α qualifies, exit 1 is closed. Exit 2 keeps all five,
    # all right -> α_2 = the lowest score, 0.7. (Exit 1 is not degenerate: 4/5 right against a majority 3/5.)
    val = binary([0.1, 0.7, 0.9], [0.8, 0.9, 0.9], [0.6, 0.6, 0.9], [0.3, 0.2, 0.1], [0.25, 0.35, 0.2])
    policy = make_policy("beem-c", weights=[1, 1, 1], threshold_rule="error-rate", min_exit_samples=1,
                         error_confidence=None).fit(val, np.array([1, 1, 1, 0, 0]))
    assert policy.thresholds_[0] is None and policy.thresholds_[1] == pytest.approx(0.7, abs=1e-6)
    # Test: t0 has C_1 = .95, above every val score (a threshold just above .9 would let it leave at exit 1);
    # with exit 1 closed it goes on, S_2 = .95 + .95 >= .7 -> exit 2. t1: ŷ_1 = 0 (C .95), ŷ_2 = 1 breaks the
    # chain, S_2 = .6 < .7 -> exit 3.
    test = binary([0.95, 0.95, 0.95], [0.05, 0.6, 0.9])
    assert exits_of(policy, test) == [2, 3]
    # fit.json holds the closed exit as null (strict JSON) and the policy read back decides the same.
    record = json.loads(json.dumps(policy.to_dict(), allow_nan=False))
    assert record["fitted"]["thresholds_"][0] is None
    assert exits_of(policy_from_dict(record), test) == [2, 3]


def test_pcee_reliability_bins():
    # Four bins on [0, 1] (edges 0.25, 0.5, 0.75). Val at exit 1: confidences 0.9, 0.9 (right; bin 3) and 0.6
    # (wrong: predicts 0) and 0.6 (right; bin 2) -> accuracies [-1 (empty), -1, 0.5, 1.0].
    # δ = 0.9: the 0.9-confident samples exit at 1, the others at 2.
    logits = binary([0.9, 0.9], [0.9, 0.9], [0.4, 0.4], [0.6, 0.6])
    labels = np.array([1, 1, 1, 1])
    policy = make_policy("pcee", delta=0.9, bins=4).fit(logits, labels, keep_degenerate_exits=True)  # one class
    assert policy.bin_accuracy_[0].tolist() == [-1.0, -1.0, 0.5, 1.0]
    assert exits_of(policy, logits) == [1, 1, 2, 2]
    # Smoothing over one neighbour, count-weighted: bin 1 = 1/2, bins 2 and 3 = (1 + 2) / 4 = 0.75 < 0.9.
    smoothed = make_policy("pcee-ws", delta=0.9, bins=4, window=1).fit(logits, labels, keep_degenerate_exits=True)
    assert smoothed.bin_accuracy_[0].tolist() == [-1.0, 0.5, 0.75, 0.75]
    assert exits_of(smoothed, logits) == [2, 2, 2, 2]


def test_pcee_empty_bins_never_exit():
    logits = binary([0.9, 0.9])
    policy = make_policy("pcee", delta=0.0, bins=4).fit(logits, np.array([1]))
    assert policy.bin_accuracy_[0].tolist() == [-1.0, -1.0, -1.0, 1.0]


def test_oracle_reads_labels():
    # Predictions per exit: sample 0: 0, 1, 1 with label 1 -> exit 2; sample 1: 1, 1, 1 with label 0 -> final 3.
    logits = binary([0.2, 0.8, 0.9], [0.8, 0.8, 0.8])
    labels = np.array([1, 0])
    assert exits_of(make_policy("oracle"), logits, labels) == [2, 3]
    with pytest.raises(DataError, match="needs 'labels'"):
        simulate(make_policy("oracle"), logits)


def test_lte_scores():
    # Scores 0.2, 0.7, 0.9 with threshold 0.6 -> exit 2.
    logits = binary([0.5, 0.5, 0.5])
    scores = np.array([[0.2, 0.7, 0.9]])
    assert exits_of(make_policy("lte", threshold=0.6), logits, lte_scores=scores) == [2]
    with pytest.raises(DataError, match="needs 'lte_scores'"):
        simulate(make_policy("lte", threshold=0.6), logits)


def test_ucb_stream_by_hand():
    # Arms α = 0.6 and 0.9, no exploration bonus (exploration 0), overhead 0.1, one sample a step.
    # Confidences per exit: every sample 0.7, 0.95. Arm 0.6 exits at 1: reward 0. Arm 0.9 exits at 2:
    # reward 0.95 - 0.7 - 0.1 = 0.15. The bandit tries arm 0.6 then 0.9 (untried first), then keeps 0.9.
    # The samples arrive in file order by default.
    logits = binary(*[[0.7, 0.95]] * 4)
    policy = make_policy("ucb", thresholds=[0.6, 0.9], overhead=0.1, exploration=0.0)
    assert policy.stream_order == "file"
    assert exits_of(policy, logits) == [1, 2, 2, 2]
    threshold, best = policy.hindsight_exits(logits)
    assert threshold == 0.9 and best.tolist() == [2, 2, 2, 2]


def test_ucb_file_order_is_the_order_of_the_samples():
    # As above, but the second sample's last exit is unsure: 0.7, 0.75 (arm 0.9 runs to exit 2 for a reward of
    # 0.75 - 0.7 - 0.1 = -0.05). In file order arm 0.6 (reward 0) is tried on sample 0, arm 0.9 on sample 1
    # (-0.05), then arm 0.6 has the larger mean and keeps it: exits 1, 2, 1, 1. Reversed, the unsure sample comes
    # third: arm 0.6 on sample 3 (0), arm 0.9 on sample 2 (+0.15), then arm 0.9 for samples 1 and 0: 2, 2, 2, 1.
    rows = [[0.7, 0.95], [0.7, 0.75], [0.7, 0.95], [0.7, 0.95]]
    policy = make_policy("ucb", thresholds=[0.6, 0.9], overhead=0.1, exploration=0.0, stream_order="file")
    assert exits_of(policy, binary(*rows)) == [1, 2, 1, 1]
    assert exits_of(policy, binary(*rows[::-1])) == [1, 2, 2, 2]  # file order of the reversed rows: 3, 2, 1, 0
    with pytest.raises(ConfigError, match="option 'stream_order': got 'random', expected one of 'file', 'shuffled'"):
        make_policy("ucb", stream_order="random")


def test_ucb_shuffled_order_averages_seeded_shuffles():
    # Identical samples (0.7, 0.95), arms 0.6 and 0.9, no exploration: whatever the order, the sample played
    # first gets arm 0.6 (exit 1, reward 0), the second arm 0.9 (exit 2, +0.15), and every later one arm 0.9.
    # So in each shuffle exactly the sample that comes first exits at 1. With 3 shuffles sample n reports
    # the exit it got in shuffle n mod 3: exit 1 iff it came first there, else 2.
    n = 7
    logits = binary(*[[0.7, 0.95]] * n)
    policy = make_policy("ucb", thresholds=[0.6, 0.9], overhead=0.1, exploration=0.0, stream_order="shuffled",
                         n_shuffles=3, order_seed=4)
    orders = policy.stream_orders(n)
    rng = np.random.default_rng(4)  # the shuffles are successive permutations of one generator seeded by order_seed
    assert [order.tolist() for order in orders] == [rng.permutation(n).tolist() for _ in range(3)]
    expected = [1 if orders[i % 3][0] == i else 2 for i in range(n)]
    assert exits_of(policy, logits) == expected
    assert policy.run_stream_steps(logits).tolist() == expected  # the incremental path, shuffle by shuffle
    # One shuffle is one seeded stream: only the sample its permutation puts first exits at 1.
    single = make_policy("ucb", thresholds=[0.6, 0.9], overhead=0.1, exploration=0.0, stream_order="shuffled",
                         n_shuffles=1, order_seed=4)
    first = np.random.default_rng(4).permutation(n)[0]
    assert exits_of(single, logits) == [1 if i == first else 2 for i in range(n)]


def notebook_ucb_arms(first_conf, last_conf, arms, overhead, c_tilde):
    """CeeBERT's one-exit notebook (Div290/CeeBERT `UBERT one exit.ipynb`), transcribed: `initialize` plays arm
    t on sample t for the first |A| samples; then each sample t plays argmax_a Q[a] + c̃·sqrt(ln t / N[a]) and
    Q[a] is the running mean of rewards 0 (C_1 >= α_a) or C_L − C_1 − o."""
    q, counts, played = [0.0] * len(arms), [0] * len(arms), []
    for t in range(len(first_conf)):
        if t < len(arms):
            arm = t
        else:
            index = [q[a] + c_tilde * (np.log(t) / counts[a]) ** 0.5 for a in range(len(arms))]
            arm = index.index(max(index))
        reward = 0.0 if first_conf[t] >= arms[arm] else last_conf[t] - first_conf[t] - overhead
        q[arm] = (counts[arm] * q[arm] + reward) / (counts[arm] + 1)
        counts[arm] += 1
        played.append(arm)
    return played


def test_ucb_default_exploration_reproduces_the_notebook():
    rng = np.random.default_rng(0)
    p1 = rng.uniform(0.05, 0.95, size=(400, 2))
    logits = binary(*p1.tolist())
    policy = make_policy("ucb", overhead=0.1)
    arms = policy.arms.tolist()
    confidences = np.maximum(p1, 1 - p1)  # file order, the default stream order
    expected = notebook_ucb_arms(confidences[:, 0], confidences[:, 1], arms, 0.1, c_tilde=2.0)
    _, gains, depths = policy.arm_outcomes(logits)
    assert play_bandits(gains, depths, [0.1], 1, policy.exploration)[0].tolist() == expected
    exits = simulate(policy, logits)[0]
    # The arm played is visible through the exit: exit 1 iff C_1 >= α of the arm played.
    assert np.array_equal(exits == 1, confidences[:, 0] >= np.asarray(arms)[expected])
    assert policy.exploration == pytest.approx(2 / np.sqrt(2))
    # exploration = 1 (textbook UCB1, c̃ = √2) plays another sequence on this stream.
    other = notebook_ucb_arms(confidences[:, 0], confidences[:, 1], arms, 0.1, c_tilde=np.sqrt(2))
    assert other != expected
    textbook = simulate(make_policy("ucb", overhead=0.1, exploration=1.0), logits)[0]
    assert np.array_equal(textbook == 1, confidences[:, 0] >= np.asarray(arms)[other])


def test_binomial_cdf():
    from math import comb

    exact = sum(comb(20, j) * 0.1**j * 0.9 ** (20 - j) for j in range(4))
    assert binomial_cdf(np.array([3]), 20, 0.1)[0] == pytest.approx(exact)


def test_risk_control_guarantee_holds_over_random_splits():
    """P(true loss of the chosen threshold > ε) <= δ over the draw of val: the violation rate over many random
    val draws from a fixed population stays below δ (plus Monte Carlo slack)."""
    population_logits, population_labels = synthetic_exits(n=20000, n_exits=4, n_classes=3, seed=7, signal=0.6)
    epsilon, delta, n_val, repeats = 0.03, 0.1, 400, 150
    rng = np.random.default_rng(0)
    probe = make_policy("risk-control", epsilon=epsilon, delta=delta).fit(population_logits, population_labels)
    # Population loss of every grid threshold (the grid is fixed, so it is the same for every fit).
    population_loss = probe.loss_counts_ / len(population_labels)
    violations = 0
    for _ in range(repeats):
        val = rng.choice(len(population_labels), n_val, replace=False)
        policy = make_policy("risk-control", epsilon=epsilon, delta=delta)
        policy.fit(population_logits[val], population_labels[val])
        chosen = int(np.flatnonzero(policy.threshold_grid_ == policy.threshold_)[0])
        violations += population_loss[chosen] > epsilon
    assert violations / repeats <= delta + 0.05
    assert population_loss.max() > epsilon  # the test is not vacuous: aggressive thresholds do violate


def test_risk_control_and_regression_errors():
    with pytest.raises(ConfigError, match="option 'score': got 'entropy', expected one of 'maxprob', 'beem'"):
        make_policy("risk-control", score="entropy")
    with pytest.raises(ConfigError, match="does not support regression"):
        make_policy("beem-a").fit(np.zeros((2, 2, 1), dtype=np.float32), np.zeros(2))


def test_per_exit_threshold_lists_as_deebert_and_berxit():
    # Entropy with per-exit thresholds S = (0.3, 0.6, ·): p = 0.85 has H = 0.4227 (> 0.3, < 0.6), p = 0.95 has
    # H = 0.1985. Sample 0 (0.85, 0.85, 0.85) waits at exit 1 and leaves at exit 2; sample 1 (0.95, ...) leaves at
    # exit 1; with one shared S = 0.3 sample 0 runs to the final exit 3.
    h = lambda p: -(p * np.log(p) + (1 - p) * np.log(1 - p))  # noqa: E731
    assert h(0.85) == pytest.approx(0.4227, abs=1e-4) and h(0.95) == pytest.approx(0.1985, abs=1e-4)
    logits = binary([0.85, 0.85, 0.85], [0.95, 0.95, 0.95])
    # One class in the labels: every exit is "no better than the majority", so keep them open for this example.
    policy = make_policy("entropy", threshold=[0.3, 0.6, 0.0]).fit(logits, np.ones(2, int), keep_degenerate_exits=True)
    assert exits_of(policy, logits) == [2, 1]
    assert exits_of(make_policy("entropy", threshold=0.3), logits) == [3, 1]
    # BERxiT's lte_th list: exit when the LTE score >= the exit's threshold.
    scores = np.array([[0.5, 0.5, 0.5], [0.7, 0.2, 0.9]])
    lte = make_policy("lte", threshold=[0.6, 0.4, 0.0]).fit(logits, np.ones(2, int), lte_scores=scores,
                                                             keep_degenerate_exits=True)
    assert exits_of(lte, logits, lte_scores=scores) == [2, 1]
    with pytest.raises(ConfigError, match="'threshold' has 2 values, the model has 3 exits"):
        make_policy("entropy", threshold=[0.1, 0.2]).fit(logits, np.ones(2, int))
    with pytest.raises(ConfigError, match=r"option 'threshold': got \[0.1, -1\], expected a finite number >= 0, or a non-empty list"):
        make_policy("entropy", threshold=[0.1, -1])


@pytest.mark.parametrize("policy_id", ["entropy", "norm-entropy", "lte"])
def test_per_exit_fit_is_never_slower_than_the_shared_threshold_on_val(policy_id):
    logits, labels = synthetic_exits(n=300, n_exits=5, seed=4)
    inputs = {"lte_scores": np.random.default_rng(0).random((300, 5))} if policy_id == "lte" else {}
    shared = make_policy(policy_id).fit(logits, labels, **inputs)
    per_exit = make_policy(policy_id, per_exit=True).fit(logits, labels, **inputs)
    shared_exits, per_exit_exits = exits_of(shared, logits, **inputs), exits_of(per_exit, logits, **inputs)
    assert np.mean(per_exit_exits) <= np.mean(shared_exits)
    final_accuracy = np.mean(logits[:, -1].argmax(1) == labels)
    assert np.mean(simulate(per_exit, logits, **inputs)[1] == labels) >= final_accuracy - 0.01 - 1e-12
    assert len(per_exit.thresholds_) == 5
