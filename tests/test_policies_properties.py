"""For every policy, the incremental `step` path (all samples every layer, or only the samples in flight via
`state.take`) and the vectorised sweep path make identical decisions on random logits."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from eebench.policies import POLICIES, make_policy, simulate
from eebench.policies.simulation import run_steps

EXTRA_PARAMS = {
    "beem-c": [{}, {"restart": "zero"}, {"threshold_rule": "error-rate"},
               {"threshold_rule": "error-rate", "min_exit_samples": 1, "error_confidence": None}],
    "beem-a": [{}, {"threshold_rule": "error-rate", "restart": "zero"}],
    "pcee": [{}, {"temperature_scaling": True, "bins": 5}],
    "maxprob": [{}, {"temperature_scaling": True}],
    "patience-confidence": [{}, {"confidence": "maxprob"}],
    "entropy": [{}, {"per_exit": True}],
    "lte": [{}, {"per_exit": True}],
    "ucb": [{}, {"batch_size": 3}, {"batch_size": 16, "exploration": 0.3}, {"exploration": 0.0},
            {"stream_order": "shuffled", "n_shuffles": 3}, {"stream_order": "shuffled", "batch_size": 4}],
    "risk-control": [{}, {"score": "beem"}],
}
CASES = [(pid, params) for pid in POLICIES for params in EXTRA_PARAMS.get(pid, [{}])]


@st.composite
def exit_outputs(draw):
    n = draw(st.integers(1, 40))
    n_exits = draw(st.integers(1, 6))
    n_classes = draw(st.integers(2, 4))
    # Few distinct values make ties (between classes, between exits and with thresholds) common.
    values = st.sampled_from([-2.0, -1.0, 0.0, 0.5, 1.0, 3.0]) if draw(st.booleans()) else st.floats(-4, 4, width=32)
    logits = draw(arrays(np.float32, (n, n_exits, n_classes), elements=values))
    labels = draw(arrays(np.int64, n, elements=st.integers(0, n_classes - 1)))
    lte = draw(arrays(np.float64, (n, n_exits), elements=st.sampled_from([0.1, 0.5, 0.9])))
    return logits, labels, lte


@pytest.mark.parametrize("policy_id,params", CASES, ids=[f"{p}-{i}" for i, (p, _) in enumerate(CASES)])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=exit_outputs(), tolerance=st.sampled_from([0.0, 0.05, 0.3]))
def test_step_paths_equal_vectorised_path(policy_id, params, data, tolerance):
    logits, labels, lte = data
    inputs = {"lte_scores": lte} if policy_id == "lte" else {}
    policy = make_policy(policy_id, **params).fit(logits, labels, tolerance=tolerance, **inputs)
    compact, _ = simulate(policy, logits, labels, **inputs)
    if policy_id == "ucb":  # the fast stream path against the incremental interface, batch by batch
        vectorised = policy.run_stream_steps(logits)
    else:
        vectorised = policy.decide(logits, **({"labels": labels} | inputs))
        full = run_steps(policy, logits, policy.start(len(labels), **({"labels": labels} | inputs)), compact=False)
        assert np.array_equal(full, vectorised)
    assert np.array_equal(compact, vectorised)
    assert compact.min() >= 1 and compact.max() <= logits.shape[1]


@pytest.mark.parametrize("policy_id", [p for p in POLICIES if p not in ("final", "oracle")])
def test_sweep_rows_equal_single_knob_decisions(policy_id):
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(60, 5, 3)).astype(np.float32)
    labels = rng.integers(0, 3, 60)
    inputs = {"lte_scores": rng.random((60, 5))} if policy_id == "lte" else {}
    policy = make_policy(policy_id).fit(logits, labels, **inputs)
    values = policy.curve_values(logits, 7, **inputs)
    swept = policy.sweep(logits, values, **inputs)
    for value, row in zip(values, swept):
        single = make_policy(policy_id, **{policy.knob: np.asarray(value).item()})
        for name, fitted in policy.fitted_attributes().items():
            if name != f"{policy.knob}_":
                setattr(single, name, fitted)
        assert np.array_equal(simulate(single, logits, labels, **inputs)[0], row)
