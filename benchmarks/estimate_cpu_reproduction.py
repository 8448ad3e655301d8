"""Estimate the wall time of a grid on an unloaded CPU machine from short measurements (issue 14's ≤ 90-minute bound
for config/paper/cpu-reproduction.yaml).

    python benchmarks/estimate_cpu_reproduction.py [--config config/paper/cpu-reproduction.yaml] [--steps 30] [--cores 2]
        [--path TASK=FOLDER ...]    # e.g. --path sst2=/data/glue when the config's relative path does not resolve here

Per experiment: prepares its task (real split sizes), builds its backbones and measures the CPU seconds per example
of training (forward + backward + AdamW step of the experiment's strategy at its batch size and max_length, on
random batches of the real train split, one torch thread, `--steps` steps after one untimed step) and of
prediction; and the CPU seconds of one cheap Snakemake job (an `eebench fit` process). CPU time rather than wall time,
so that other jobs on the machine inflate the figures only through shared caches. The grid's total, divided by
`--cores`, is the estimate; it assumes the cores are kept busy (Snakemake runs one job per core).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from eebench.config import load_config, cells, runs, training_options
from eebench.exits import ExitOutputs
from eebench.models import build_model
from eebench.tasks import load_info, load_split, prepare_task
from eebench.training import make_strategy


def latency_forward_samples(latency: dict) -> int:
    """Samples the latency rule runs through the model per latency policy: early-exit and full depth in every
    timed pass plus the simulation check, at each batch size."""
    return len(latency["batch_sizes"]) * (2 * latency["passes"] + 1) * latency["samples"]


def train_seconds_per_example(bundle, encoded, labels, strategy: str, batch_size: int, steps: int) -> float:
    model = bundle.model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    loss_fn = make_strategy(strategy)
    rng = np.random.default_rng(0)
    start = 0.0
    for step in range(steps + 1):
        if step == 1:  # the first step allocates; not timed
            start = time.process_time()
        indices = rng.choice(len(encoded), size=min(batch_size, len(encoded)), replace=False)
        out = model(encoded.batch(indices))
        loss = loss_fn.loss(0, step, out, torch.as_tensor(labels[indices])).total
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return (time.process_time() - start) / (steps * min(batch_size, len(encoded)))


@torch.inference_mode()
def predict_seconds_per_example(bundle, encoded, n: int = 256) -> float:
    model = bundle.model.eval()
    indices = np.arange(min(n, len(encoded)))
    model(encoded.batch(indices[:64]))  # warm-up
    start = time.process_time()
    for batch in np.array_split(indices, max(1, len(indices) // 64)):
        model(encoded.batch(batch))
    return (time.process_time() - start) / len(indices)


def job_seconds(workdir: Path) -> float:
    """CPU seconds (children) of one `eebench fit` process on a small exits file: a cheap Snakemake job."""
    rng = np.random.default_rng(0)
    path = workdir / "val.npz"
    ExitOutputs(rng.normal(size=(1000, 6, 2)).astype(np.float32), rng.integers(0, 2, 1000), np.arange(1000)).save(path)
    before = _children_cpu()
    subprocess.run([sys.executable, "-m", "eebench.cli", "fit", "--val", str(path), "--policy", "maxprob",
                    "--metric", "accuracy", "--out", str(workdir / "fit.json")], check=True, capture_output=True)
    return _children_cpu() - before


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="config/paper/cpu-reproduction.yaml")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--path", action="append", default=[], help="TASK=FOLDER: override a task's path option")
    args = parser.parse_args()
    torch.set_num_threads(1)
    config = load_config(args.config)
    for override in args.path:
        task, _, folder = override.partition("=")
        config["tasks"][task]["path"] = folder
    grid = runs(config)
    total = 0.0
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for experiment in config["experiments"]:
            task = experiment["task"]
            data = tmp / task
            prepare_task(task, config["tasks"].get(task, {}), data, 0)
            info, train = load_info(data), load_split(data, "train")
            sizes = info["sizes"]
            for backbone in experiment["backbones"]:
                for strategy in experiment["strategies"]:
                    opts = training_options(config, task, backbone, strategy)
                    bundle = build_model(backbone, config["backbones"].get(backbone, {}), info["n_classes"],
                                         info["modality"], train.inputs, max_length=opts["max_length"],
                                         lte_heads=make_strategy(strategy).uses_lte)
                    encoded = bundle.encoder.encode(train.inputs)
                    train_s = train_seconds_per_example(bundle, encoded, train.labels, strategy, opts["batch_size"],
                                                        args.steps)
                    predict_s = predict_seconds_per_example(bundle, encoded)
                    seeds = sum(1 for r in grid if (r.task, r.backbone, r.strategy) == (task, backbone, strategy))
                    examples = sizes["train"] * opts["epochs"]
                    per_run = examples * train_s + (sizes["val"] + sizes["test"] + latency_forward_samples(config["latency"])
                                          * len(config["latency"]["policies"])) * predict_s
                    total += seeds * per_run
                    rows.append((task, backbone, strategy, opts["max_length"], sizes["train"], opts["epochs"],
                                 1 / train_s, 1 / predict_s, per_run, seeds))
        job_s = job_seconds(tmp)
    n_jobs = 3 * len(cells(config, grid))
    n_jobs += len(grid) * 2 + len({r.task for r in grid}) * 2  # check, costs per run; prepare, aggregate per task
    total += n_jobs * job_s
    print(f"{'task':8} {'backbone':10} {'strategy':12} {'max_len':>7} {'train':>6} {'epochs':>6} "
          f"{'train ex/CPU-s':>14} {'predict ex/CPU-s':>16} {'CPU-s/run':>9} {'runs':>4}")
    for task, backbone, strategy, max_len, n_train, epochs, train_rate, predict_rate, per_run, seeds in rows:
        print(f"{task:8} {backbone:10} {strategy:12} {max_len:>7} {n_train:>6} {epochs:>6} "
              f"{train_rate:>14.1f} {predict_rate:>16.1f} {per_run:>9.0f} {seeds:>4}")
    print(f"cheap jobs (fit/evaluate/curve/check/costs/prepare/aggregate): {n_jobs} x {job_s:.2f} CPU-s")
    print(f"total {total:.0f} CPU-s -> about {total / args.cores / 60:.0f} min wall on {args.cores} busy cores")


if __name__ == "__main__":
    main()
