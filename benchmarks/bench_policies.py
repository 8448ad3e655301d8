"""Benchmark: `fit` + `curve` of every exit policy on synthetic exit logits (default 10,000 samples × 12 exits ×
2 classes, 100 knob values), against a straightforward per-sample Python loop (one sample, one layer, one knob
value at a time, as the peers' code decides exits) that must reach the same decisions.

The loop is timed on `--loop-knobs` knob values and scaled linearly to all of them (its cost is linear in the
number of knob values); its decisions are checked against the vectorised sweep on those values. The loop figure
excludes fitting, so the speed-up is conservative.

    /work/venv/bin/python benchmarks/bench_policies.py [--samples 10000 --exits 12 --classes 2 --points 100]
"""

from __future__ import annotations

import argparse
import copy
import time

import numpy as np

from eebench.policies import POLICIES, make_policy
from eebench.policies.base import all_layer_predictions


def synthetic(n: int, n_exits: int, n_classes: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, n_classes, n)
    depth = 0.3 * np.arange(1, n_exits + 1)[None, :, None]
    logits = rng.normal(size=(n, n_exits, n_classes)) + depth * np.eye(n_classes)[labels][:, None, :]
    correct = (logits.argmax(2) == labels[:, None]).astype(np.float64)
    lte_scores = 1 / (1 + np.exp(-2 * correct + 1 + rng.normal(size=(n, n_exits))))  # a noisy correctness head
    return logits.astype(np.float32), labels, lte_scores


def loop_decisions(policy, logits, labels, lte_scores) -> np.ndarray:
    """Exit layers by a per-sample loop: every sample alone through `step`, layer by layer."""
    if policy.id == "ucb":
        return policy.run_stream(logits)
    n, n_exits = logits.shape[:2]
    exits = np.full(n, n_exits)
    for i in range(n):
        inputs = {"labels": labels[i : i + 1], "lte_scores": lte_scores[i : i + 1]}
        state = policy.start(1, **{k: inputs[k] for k in policy.sample_inputs})
        for layer in range(1, n_exits):
            if policy.step(state, layer, logits[i : i + 1, layer - 1])[0]:
                exits[i] = layer
                break
    return exits


def with_knob(policy, value):
    single = copy.deepcopy(policy)
    if policy.knob is not None:
        setattr(single, policy.knob, np.asarray(value).item())
    return single


def bench(policy_id, logits, labels, lte_scores, n_points, loop_knobs):
    inputs = {"lte_scores": lte_scores} if policy_id == "lte" else {}
    sweep_inputs = inputs | ({"labels": labels} if policy_id == "oracle" else {})
    policy = make_policy(policy_id)
    start = time.perf_counter()
    policy.fit(logits, labels, **inputs)
    fitted = time.perf_counter()
    values = policy.curve_values(logits, n_points, **sweep_inputs)
    exits = policy.sweep(logits, values, **sweep_inputs)
    all_layer_predictions(logits)  # the curve's predictions, as curve_rows computes them
    done = time.perf_counter()

    # Interior knob values (quartiles for 3): the extremes exit everyone at once or never and flatter the loop.
    positions = (np.arange(1, loop_knobs + 1) / (loop_knobs + 1)) * (len(values) - 1)
    picks = np.unique(positions.round().astype(int))
    loop_start = time.perf_counter()
    for k in picks:
        decisions = loop_decisions(with_knob(policy, values[k]), logits, labels, lte_scores)
        if not np.array_equal(decisions, exits[k]):
            raise AssertionError(f"{policy_id}: the loop and the sweep disagree at knob value {values[k]}")
    loop_seconds = (time.perf_counter() - loop_start) / len(picks) * len(values)
    vectorised = done - start
    return {
        "policy": policy_id,
        "knob values": len(values),
        "fit s": fitted - start,
        "curve s": done - fitted,
        "fit+curve s": vectorised,
        "loop s (curve)": loop_seconds,
        "speed-up": loop_seconds / vectorised,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--exits", type=int, default=12)
    parser.add_argument("--classes", type=int, default=2)
    parser.add_argument("--points", type=int, default=100)
    parser.add_argument("--loop-knobs", type=int, default=3, help="knob values the slow loop really runs")
    args = parser.parse_args()
    logits, labels, lte_scores = synthetic(args.samples, args.exits, args.classes)
    print(f"{args.samples} samples x {args.exits} exits x {args.classes} classes, {args.points} knob values")
    header = ["policy", "knob values", "fit s", "curve s", "fit+curve s", "loop s (curve)", "speed-up"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for policy_id in POLICIES:
        row = bench(policy_id, logits, labels, lte_scores, args.points, args.loop_knobs)
        cells = [f"{v:.3f}" if isinstance(v, float) else str(v) for v in row.values()]
        cells[-1] = f"{row['speed-up']:.0f}x"
        print("| " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
