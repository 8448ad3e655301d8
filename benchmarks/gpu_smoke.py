"""GPU smoke run: train bert-small a few steps (bf16 on CUDA, fp32 on CPU), predict, time real early exit.

    python benchmarks/gpu_smoke.py [--steps 30] [--device auto]

Prints the device and timings; runs on the CPU too (where bf16 is skipped unless --precision bf16 is given)."""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from eebench.inference import measure_latency, predict_split
from eebench.io import write_json
from eebench.models.runtime import select_device
from eebench.policies import make_policy
from eebench.exits import load_exit_outputs
from eebench.tasks import prepare_task
from eebench.training import train_run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", default=None, help="default: bf16 on CUDA, fp32 on the CPU")
    args = parser.parse_args()
    device = select_device(args.device)
    precision = args.precision or ("bf16" if device.type == "cuda" else "fp32")
    print(f"device: {device} ({torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu'}), "
          f"precision: {precision}, torch {torch.__version__}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        prepare_task("synth-sentiment", {"train_size": 512, "val_size": 128, "test_size": 256}, root / "data", 0)
        training = {"max_steps": args.steps, "batch_size": 32, "lr": 5e-4, "max_length": 64,
                    "precision": precision, "device": str(device)}
        started = time.perf_counter()
        train_run(root / "data", root / "model", "bert-small", {"n_layers": 4, "hidden_size": 128, "n_heads": 4,
                  "intermediate_size": 512}, "joint", {}, training, 0)
        train_s = time.perf_counter() - started
        for split in ("val", "test"):
            started = time.perf_counter()
            predict_split(root / "model", root / "data", split, root / f"{split}.npz")
            predict_s = time.perf_counter() - started
        val = load_exit_outputs(root / "val.npz")
        write_json(root / "fit.json", make_policy("maxprob").fit(val.logits, val.labels).to_dict())
        measure_latency(root / "model", root / "data", root / "fit.json", root / "latency.json")
        latency = json.loads((root / "latency.json").read_text())
    print(f"train: {args.steps} steps × 32 in {train_s:.1f} s ({args.steps * 32 / train_s:.0f} examples/s, incl. model build)")
    print(f"predict test (256): {predict_s:.2f} s")
    for entry in latency["by_batch_size"].values():
        print(f"latency batch size {entry['batch_size']}: early exit {entry['early_exit_samples_per_second']:.0f}/s, full depth "
              f"{entry['full_depth_samples_per_second']:.0f}/s, mean exit {entry['mean_exit_layer']:.2f}, "
              f"decisions match simulation: {entry['decisions_match_simulation']}")


if __name__ == "__main__":
    main()
