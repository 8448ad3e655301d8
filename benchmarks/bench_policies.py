"""Benchmark: `fit` + `curve` of every exit policy on synthetic exit logits (default 10,000 samples × 12 exits ×
2 classes, 100 knob values), against a straightforward per-sample Python loop (one sample, one layer, one knob
value at a time, as the peers' code decides exits) that must reach the same decisions.

The peers fit by grid search: every candidate knob setting is run through the same loop. So the loop baseline is
(the candidates our `fit` evaluates + the curve's knob values) loop runs. Each part is timed on `--loop-knobs`
interior values and scaled linearly to its count (a run's cost is linear in the number of settings); the loop's
decisions on those values are checked against the vectorised ones. The loop figure leaves out the metrics of each
candidate and the curve's grid, so the speed-up is conservative. The vectorised `fit` + `curve` is the median of
`--repeats` runs.

    python benchmarks/bench_policies.py [--samples 10000 --exits 12 --classes 2 --points 100]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

import numpy as np

from eebench.policies import POLICIES, make_policy, simulate
from eebench.policies.base import FIT_GRID_POINTS
from eebench.policies.sweeps import exit_predictions, first_crossing, score_grid
from eebench.policies.patience_confidence import window_worst


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
        return policy.run_stream_steps(logits)
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


def fit_search(policy, logits, inputs) -> tuple[list, np.ndarray]:
    """The knob settings the fitted `policy`'s `fit` evaluates, as single-setting policies for the loop, and their
    exit layers [K, N] by the vectorised path."""
    if policy.knob is None:
        return [], np.empty((0, logits.shape[0]), dtype=np.int64)
    if policy.id == "patience-confidence":  # every (patience, threshold) pair, as its fit_knobs searches them
        measures, singles, exits = policy.measure(logits), [], []
        for patience in range(1, logits.shape[1]):
            window_scores = window_worst(measures, patience, policy.exit_when)
            thresholds = score_grid(window_scores, FIT_GRID_POINTS, policy.exit_when)
            single = copy.deepcopy(policy)
            single.patience = patience
            singles += [with_knob(single, t) for t in thresholds]
            exits.append(first_crossing(window_scores, thresholds, policy.exit_when))
        return singles, np.concatenate(exits)
    if policy.id == "risk-control":  # the loss of its base score's threshold at every grid point
        if policy.score != "maxprob":
            raise NotImplementedError("the benchmark runs risk-control with its default score='maxprob'")
        grid = np.asarray(policy.threshold_grid_)
        return [with_knob(make_policy("maxprob"), t) for t in grid], first_crossing(policy.score_matrix(logits), grid)
    candidates = policy.fit_candidates(logits, inputs)
    return [with_knob(policy, value) for value in candidates], policy.sweep(logits, candidates, **inputs)


def loop_seconds(policy_id, singles, expected, logits, labels, lte_scores, loop_knobs) -> float:
    """Seconds the loop takes over all `singles`, timed on `loop_knobs` interior ones (the extremes exit everyone
    at once or never and flatter the loop) and scaled; raises if the loop and the vectorised exits disagree."""
    if not singles:
        return 0.0
    positions = (np.arange(1, loop_knobs + 1) / (loop_knobs + 1)) * (len(singles) - 1)
    picks = np.unique(positions.round().astype(int))
    start = time.perf_counter()
    for k in picks:
        if not np.array_equal(loop_decisions(singles[k], logits, labels, lte_scores), expected[k]):
            raise AssertionError(f"{policy_id}: the loop and the vectorised path disagree at {singles[k]!r}")
    return (time.perf_counter() - start) / len(picks) * len(singles)


def bench(policy_id, logits, labels, lte_scores, n_points, loop_knobs, repeats):
    inputs = {"lte_scores": lte_scores} if policy_id == "lte" else {}
    sweep_inputs = inputs | ({"labels": labels} if policy_id == "oracle" else {})
    fit_times, curve_times = [], []
    for _ in range(repeats):
        policy = make_policy(policy_id)
        start = time.perf_counter()
        policy.fit(logits, labels, **inputs)
        fitted = time.perf_counter()
        values = policy.curve_values(logits, n_points, **sweep_inputs)
        exits = policy.sweep(logits, values, **sweep_inputs)
        exit_predictions(logits, exits)  # the curve's predictions, as curve_rows computes them
        done = time.perf_counter()
        fit_times.append(fitted - start)
        curve_times.append(done - fitted)
    fit_seconds, curve_seconds = statistics.median(fit_times), statistics.median(curve_times)

    singles, fit_exits = fit_search(policy, logits, inputs)
    loop_fit = loop_seconds(policy_id, singles, fit_exits, logits, labels, lte_scores, loop_knobs)
    curve_singles = [with_knob(policy, value) for value in values]
    loop_curve = loop_seconds(policy_id, curve_singles, exits, logits, labels, lte_scores, loop_knobs)
    vectorised = fit_seconds + curve_seconds
    return {
        "policy": policy_id,
        "fit candidates": len(singles),
        "knob values": len(values),
        "fit s": fit_seconds,
        "curve s": curve_seconds,
        "fit+curve s": vectorised,
        "loop fit s": loop_fit,
        "loop curve s": loop_curve,
        "speed-up": (loop_fit + loop_curve) / vectorised,
    }


def bench_ucb_stream(logits, labels, repeats) -> str:
    """ucb's fit + simulate (the fast stream path) against the incremental step/observe loop real inference uses."""
    times = []
    for _ in range(repeats):
        policy = make_policy("ucb")
        start = time.perf_counter()
        policy.fit(logits, labels)
        exits = simulate(policy, logits)[0]
        times.append(time.perf_counter() - start)
    start = time.perf_counter()
    same = np.array_equal(policy.run_stream_steps(logits), exits)
    loop = time.perf_counter() - start
    return (f"ucb fit + simulate: {statistics.median(times):.3f} s (target < 0.5 s); the step/observe loop alone "
            f"(simulate only): {loop:.3f} s; identical decisions: {same}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--exits", type=int, default=12)
    parser.add_argument("--classes", type=int, default=2)
    parser.add_argument("--points", type=int, default=100)
    parser.add_argument("--loop-knobs", type=int, default=3, help="settings the slow loop really runs, per part")
    parser.add_argument("--repeats", type=int, default=5, help="vectorised runs; the median is reported")
    args = parser.parse_args()
    logits, labels, lte_scores = synthetic(args.samples, args.exits, args.classes)
    print(bench_ucb_stream(logits, labels, args.repeats), flush=True)
    print(f"{args.samples} samples x {args.exits} exits x {args.classes} classes, {args.points} knob values")
    header = ["policy", "fit candidates", "knob values", "fit s", "curve s", "fit+curve s", "loop fit s",
              "loop curve s", "speed-up"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for policy_id in POLICIES:
        row = bench(policy_id, logits, labels, lte_scores, args.points, args.loop_knobs, args.repeats)
        cells = [f"{v:.3f}" if isinstance(v, float) else str(v) for v in row.values()]
        cells[-1] = f"{row['speed-up']:.0f}x"
        print("| " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
