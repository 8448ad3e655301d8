"""Benchmark: fitting a policy's knob on val and deciding the test exits, eebench's vectorised path against the loop a
user would write, on synthetic exit logits (default 10,000 val and 10,000 test samples × 12 exits × 2 classes).

eebench: `make_policy(id).fit(val_logits, val_labels)`, then `simulate(policy, test_logits)` (median of
`--repeats` runs). The loop (timed once): plain Python over the samples, as one writes it without eebench. It
computes each val sample's per-layer confidence (max softmax probability, in float64 as eebench does) and
prediction once, then, for every candidate knob value, walks each sample's layers to its exit and counts correct
samples and layers spent;
it keeps the candidate with the largest layer speed-up (L / mean exit layer) whose val accuracy is at most the
tolerance (0.01) below the final exit's — ties to the higher accuracy, then the earlier candidate; when none is
within it, the most accurate — and walks the test samples with that knob. The candidates are eebench's: for
threshold rules up to 199 of the observed scores of exits 1..L-1, evenly spaced in rank, plus one above them all
(the loop builds that grid itself); for `patience`, 1..L-1. Before anything is timed, the script asserts that
the loop picks the same knob and gives the same test exit layers as eebench.

Policies: the four whose rule is a few lines of a user's loop — `maxprob`, `patience` (PABEE), `beem-c` (BEEM's
cost-weighted chain of agreeing confidences, w_i = i/L) and `oracle` (knob-free: the earliest correct exit on
test). Also printed: `ucb`'s fit + simulate (the fast stream path) against its step/observe loop.

    python benchmarks/bench_policies.py [--samples 10000 --exits 12 --classes 2 --repeats 5] [--markdown FILE]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time

import numpy as np

from eebench.policies import make_policy, simulate
from performance_page import Measurement, add_markdown_option, markdown_table, verdict

TOLERANCE = 0.01  # eebench's default fit tolerance (policy_fit.tolerance)
GRID_POINTS = 200  # candidate thresholds eebench's fit searches
UCB_TARGET_S = 0.5
POLICY_COLUMNS = ["policy", "knob", "mean exit", "eebench s", "loop s", "loop / eebench"]


def synthetic(n: int, n_exits: int, n_classes: int, seed: int):
    """Exit logits [n, L, C] whose true class grows more likely with depth, and labels [n]."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, n_classes, n)
    depth = 0.3 * np.arange(1, n_exits + 1)[None, :, None]
    logits = rng.normal(size=(n, n_exits, n_classes)) + depth * np.eye(n_classes)[labels][:, None, :]
    return logits.astype(np.float32), labels


# -- the loop a user writes ---------------------------------------------------------------------------------------
def per_sample_layers(logits) -> list[tuple[list[float], list[int]]]:
    """Each sample's confidence and prediction at every exit, one sample at a time."""
    rows = []
    for sample in logits:
        z = sample.astype(np.float64)
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        rows.append((p.max(axis=1).tolist(), z.argmax(axis=1).tolist()))
    return rows


def threshold_exit(threshold, scores, predictions) -> int:
    """The first exit whose score (maxprob: the confidence; BEEM: its chain score) reaches the threshold."""
    for layer, score in enumerate(scores[:-1], 1):
        if score >= threshold:
            return layer
    return len(scores)


def patience_exit(patience, confidences, predictions) -> int:
    """PABEE: exit once `patience` consecutive exits agree with the one before."""
    counter = 0
    for layer in range(2, len(predictions)):
        counter = counter + 1 if predictions[layer - 1] == predictions[layer - 2] else 0
        if counter >= patience:
            return layer
    return len(predictions)


def beem_scores(confidences, predictions) -> list[float]:
    """BEEM-C: S_i = S_{i-1} + (i/L)·C_i while the prediction agrees with the exit before, else (i/L)·C_i."""
    n_exits, score, scores = len(confidences), 0.0, []
    for layer, (confidence, prediction) in enumerate(zip(confidences, predictions), 1):
        gain = layer / n_exits * confidence
        score = score + gain if layer > 1 and prediction == predictions[layer - 2] else gain
        scores.append(score)
    return scores


def threshold_grid(rows) -> list[float]:
    """Up to GRID_POINTS - 1 observed scores of exits 1..L-1, evenly spaced in rank, and one above them all."""
    values = sorted({score for scores, _ in rows for score in scores[:-1]})
    step = (len(values) - 1) / (GRID_POINTS - 2)
    picks = sorted({round(i * step) for i in range(GRID_POINTS - 1)})
    return [values[i] for i in picks] + [math.nextafter(values[-1], math.inf)]


def loop_fit(exit_rule, candidates, rows, labels):
    """The candidate with the largest layer speed-up within the tolerance of the final exit's val accuracy."""
    n, n_exits = len(rows), len(rows[0][1])
    final = sum(predictions[-1] == label for (_, predictions), label in zip(rows, labels)) / n
    best, best_key, most_accurate, best_accuracy = None, None, None, -1.0
    for candidate in candidates:
        correct = layers = 0
        for (scores, predictions), label in zip(rows, labels):
            layer = exit_rule(candidate, scores, predictions)
            correct += predictions[layer - 1] == label
            layers += layer
        accuracy, speedup = correct / n, n_exits / (layers / n)
        if accuracy > best_accuracy:
            most_accurate, best_accuracy = candidate, accuracy
        if accuracy >= final - TOLERANCE - 1e-12 and (best_key is None or (speedup, accuracy) > best_key):
            best, best_key = candidate, (speedup, accuracy)
    return most_accurate if best is None else best


def loop_maxprob(val, val_labels, test, test_labels):
    rows = per_sample_layers(val)
    threshold = loop_fit(threshold_exit, threshold_grid(rows), rows, val_labels)
    return threshold, [threshold_exit(threshold, *row) for row in per_sample_layers(test)]


def per_sample_predictions(logits) -> list[tuple[None, list[int]]]:
    """Each sample's prediction at every exit (patience reads no confidence)."""
    return [(None, sample.argmax(axis=1).tolist()) for sample in logits]


def loop_patience(val, val_labels, test, test_labels):
    rows = per_sample_predictions(val)
    patience = loop_fit(patience_exit, range(1, len(rows[0][1])), rows, val_labels)
    return patience, [patience_exit(patience, *row) for row in per_sample_predictions(test)]


def loop_beem(val, val_labels, test, test_labels):
    rows = [(beem_scores(*row), row[1]) for row in per_sample_layers(val)]
    alpha = loop_fit(threshold_exit, threshold_grid(rows), rows, val_labels)
    return alpha, [threshold_exit(alpha, beem_scores(*row), row[1]) for row in per_sample_layers(test)]


def loop_oracle(val, val_labels, test, test_labels):
    exits = []
    for (_, predictions), label in zip(per_sample_predictions(test), test_labels):
        exits.append(next((layer for layer, p in enumerate(predictions, 1) if p == label), len(predictions)))
    return None, exits


LOOPS = {"maxprob": loop_maxprob, "patience": loop_patience, "beem-c": loop_beem, "oracle": loop_oracle}


# -- eebench ------------------------------------------------------------------------------------------------------
def eebench_fit_and_exits(policy_id, val, val_labels, test, test_labels):
    policy = make_policy(policy_id).fit(val, val_labels)
    exits = simulate(policy, test, test_labels if policy_id == "oracle" else None)[0]
    return (policy.knob_value() if policy.knob else None), exits, policy


def timed(function, *args) -> float:
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start


def bench(policy_id, data, repeats) -> dict:
    knob, exits, policy = eebench_fit_and_exits(policy_id, *data)
    loop_knob, loop_exits = LOOPS[policy_id](*data)
    if policy.closed_layers():
        raise AssertionError(f"{policy_id}: fit closed exits {sorted(policy.closed_layers())}, which the loop keeps")
    if loop_knob != knob or not np.array_equal(np.asarray(loop_exits), exits):
        raise AssertionError(f"{policy_id}: the loop picks {loop_knob!r} and {np.mean(loop_exits != exits):.2%} "
                             f"different test exits; eebench picks {knob!r}")
    eebench_s = statistics.median(timed(eebench_fit_and_exits, policy_id, *data) for _ in range(repeats))
    loop_s = timed(LOOPS[policy_id], *data)
    return {"policy": policy_id, "knob": "-" if knob is None else f"{knob:.6g}",
            "mean exit": f"{exits.mean():.2f}", "eebench s": f"{eebench_s:.4f}", "loop s": f"{loop_s:.3f}",
            "loop / eebench": f"{loop_s / eebench_s:.0f}x"}


def bench_ucb_stream(logits, labels, repeats) -> dict:
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
    return {"fit_simulate_s": statistics.median(times), "loop_s": loop, "identical": same}


def ucb_line(ucb: dict) -> str:
    return (f"ucb fit + simulate: {ucb['fit_simulate_s']:.3f} s (target < {UCB_TARGET_S} s); the step/observe loop "
            f"alone (simulate only): {ucb['loop_s']:.3f} s; identical decisions: {ucb['identical']}")


def setting(samples: int, exits: int, classes: int, repeats: int) -> str:
    return (f"fit on {samples:,} val samples + exits of {samples:,} test samples, {exits} exits x {classes} classes; "
            f"eebench: median of {repeats} runs, the loop: one run; loop and eebench pick the same knob and the same "
            "test exits (asserted)")


def markdown(ucb: dict, rows: list[dict], setting_line: str) -> str:
    """The page's block: ucb's stream path beside its target, then eebench against the user's loop per policy."""
    ucb_table = markdown_table(["figure", "measured", "target"], [
        ["`ucb` fit + simulate (stream path)", f"{ucb['fit_simulate_s']:.3f} s",
         f"< {UCB_TARGET_S} s: {verdict(ucb['fit_simulate_s'] < UCB_TARGET_S)}"],
        ["`ucb` step/observe loop alone (simulate only)", f"{ucb['loop_s']:.3f} s", "—"],
        ["identical decisions", "yes" if ucb["identical"] else "**no**", "yes"],
    ])
    policy_table = markdown_table(POLICY_COLUMNS, [[row[column] for column in POLICY_COLUMNS] for row in rows])
    return f"{ucb_table}\n\n{setting_line[0].upper()}{setting_line[1:]}:\n\n{policy_table}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10_000, help="samples of each split, val and test")
    parser.add_argument("--exits", type=int, default=12)
    parser.add_argument("--classes", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5, help="eebench runs; the median is reported")
    add_markdown_option(parser)
    args = parser.parse_args()
    measurement = Measurement.begin()
    val = synthetic(args.samples, args.exits, args.classes, seed=0)
    test = synthetic(args.samples, args.exits, args.classes, seed=1)
    print("load average at the start (1, 5, 15 min): %.2f %.2f %.2f" % os.getloadavg())
    ucb = bench_ucb_stream(*val, args.repeats)
    print(ucb_line(ucb), flush=True)
    setting_line = setting(args.samples, args.exits, args.classes, args.repeats)
    print(setting_line)
    print(markdown_table(POLICY_COLUMNS, []))
    rows = []
    for policy_id in LOOPS:
        rows.append(bench(policy_id, (*val, *test), args.repeats))
        print("| " + " | ".join(rows[-1].values()) + " |", flush=True)
    print("load average at the end (1, 5, 15 min): %.2f %.2f %.2f" % os.getloadavg())
    if args.markdown:
        measurement.write(args.markdown, markdown(ucb, rows, setting_line))


if __name__ == "__main__":
    main()
