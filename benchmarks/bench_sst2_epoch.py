"""Benchmark: one epoch of the CPU reproduction's SST-2 training on all its data, with the training step eebench had
before issue 30 (torch's default AdamW after `clip_grad_norm_`, torch's dropout, NaN-filled new tensors; fp32)
against the step now (fused AdamW with the clip folded in, cheaper dropout masks, no NaN fill, `precision: auto`;
see bench_training.step_of), then each model's test accuracy at every exit.

Both runs read their settings from `config/paper/cpu-reproduction.yaml` (task split, MiniLM-L6, joint strategy, the
SST-2 experiment's training options, seed 0: same weights, same batches) and run one after the other, each alone on
the machine with the same thread count (the reproduction's jobs have one thread each). `--side-by-side` runs them at
once instead, as the reproduction's two-job Snakemake run shares the machine; the run that ends first then leaves
the other the machine to itself, which favours the slower one. Target (issue 30): the new epoch takes at most half
the old one's time at equal accuracy, read as a final-exit test accuracy within ACCURACY_TOLERANCE of the old
step's; the test sentences on which the two models' predictions differ are counted at every exit.

    python benchmarks/bench_sst2_epoch.py [--data DIR] [--threads 1] [--side-by-side] [--max-steps N] [--markdown FILE]

`--max-steps` cuts both runs short (a check of the machinery; the figures are then not an epoch's).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from performance_page import SHARED_DATA, Measurement, add_markdown_option, markdown_table, verdict

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "config" / "paper" / "cpu-reproduction.yaml"
TASK, BACKBONE, STRATEGY, SEED = "sst2", "minilm-l6", "joint", 0
TARGET = 2.0
ACCURACY_TOLERANCE = 0.01  # one point: twice the seed-to-seed SD of the reproduction's final exit (0.005)
MODES = {"old": ("old step, fp32", "fp32"), "new": ("new step, auto", "auto")}


def settings(data: Path, max_steps: int | None) -> tuple[dict, dict]:
    """The reproduction's SST-2 task options (data folder replaced by `data`) and its joint training options."""
    from eebench.config import load_config, training_options

    config = load_config(CONFIG)
    training = training_options(config, TASK, BACKBONE, STRATEGY)
    if max_steps:
        training["max_steps"] = max_steps
    return {**config["tasks"][TASK], "path": str(data.resolve())}, training


def scored_on_test(model_dir: Path, data_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """A trained model's predicted class at every exit on the test split ([N, L]) and each exit's accuracy ([L]);
    the exits file goes beside the model folder."""
    from eebench.exits import load_exit_outputs
    from eebench.inference import predict_split

    exits_path = model_dir.parent / "test.npz"
    predict_split(model_dir, data_dir, "test", exits_path)
    exits = load_exit_outputs(exits_path)
    predictions = exits.logits.argmax(-1)
    return predictions, (predictions == exits.labels[:, None]).mean(0)


def child(mode: str, data_dir: Path, out: Path, training: dict) -> dict:
    """Train one model with `mode`'s step and precision; its epoch time, throughput and test predictions and accuracy
    per exit."""
    from bench_training import step_of
    from eebench.io import read_json
    from eebench.training import train_run

    with step_of(mode == "old"):
        train_run(data_dir, out / "model", BACKBONE, {}, STRATEGY, {}, {**training, "precision": MODES[mode][1]}, SEED)
    record = read_json(out / "model" / "eebench_model.json")["training"]
    predictions, accuracy = scored_on_test(out / "model", data_dir)
    return {"predictions": predictions.T.tolist(), "accuracy": accuracy.tolist(),
            "seconds": record["seconds_this_process"], "examples_per_second": record["examples_per_second"],
            "train_size": record["train_size"], "precision": record["precision"]["dtype"]}


def run_modes(data_dir: Path, tmp: Path, training: dict, threads: int, together: bool) -> dict[str, dict]:
    """Both modes, each in its own process on `threads` threads, one after the other or (`together`) at once; their
    progress goes to stderr."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}

    def start(mode: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, __file__, "--child", mode, "--data-dir", str(data_dir), "--out", str(tmp / mode),
             "--training", json.dumps(training), "--threads", str(threads)],
            stdout=subprocess.PIPE, env=env, text=True)

    def result(mode: str, process: subprocess.Popen) -> dict:
        stdout, _ = process.communicate()
        if process.returncode:
            sys.exit(f"bench_sst2_epoch: the {MODES[mode][0]} run failed (exit {process.returncode}); see above")
        return json.loads(stdout.strip().splitlines()[-1])

    if together:
        processes = {mode: start(mode) for mode in MODES}
        return {mode: result(mode, process) for mode, process in processes.items()}
    return {mode: result(mode, start(mode)) for mode in MODES}


def disagreements(results: dict[str, dict]) -> list[int]:
    """Per exit, the test sentences on which the old and the new model predict different classes."""
    old, new = (np.array(results[mode]["predictions"]) for mode in MODES)
    return (old != new).sum(axis=1).tolist()


def verdicts(results: dict[str, dict]) -> tuple[float, float]:
    """The new epoch's speed-up over the old one and its final-exit accuracy minus the old one's."""
    old, new = results["old"], results["new"]
    return old["seconds"] / new["seconds"], new["accuracy"][-1] - old["accuracy"][-1]


def markdown(setting: list[str], results: dict[str, dict]) -> str:
    speedup, difference = verdicts(results)
    rows = [[MODES[mode][0], r["precision"], f"{r['seconds'] / 60:.1f} min", f"{r['examples_per_second']:.1f}",
             " / ".join(f"{a:.3f}" for a in r["accuracy"])] for mode, r in results.items()]
    met = speedup >= TARGET and abs(difference) <= ACCURACY_TOLERANCE
    rows.append(["predictions that differ", "", "", "", " / ".join(str(n) for n in disagreements(results))])
    return "\n\n".join([
        "; ".join(setting) + ".",
        markdown_table(["step", "precision", "training time", "examples/s", "test accuracy, exit 1 … final"], rows),
        f"Epoch time, old over new: **{speedup:.2f}x**; final-exit accuracy new − old: {difference:+.3f} "
        f"(target: ≥ {TARGET}x at equal accuracy, |difference| ≤ {ACCURACY_TOLERANCE}: {verdict(met)}).",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SHARED_DATA / "glue", help="GLUE folder with SST-2/")
    parser.add_argument("--threads", type=int, default=1, help="torch threads of each of the two runs")
    parser.add_argument("--side-by-side", action="store_true", help="run both at once instead of one after the other")
    parser.add_argument("--max-steps", type=int, help="stop both runs after N steps (a quick check, not an epoch)")
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--training", type=json.loads, help=argparse.SUPPRESS)
    add_markdown_option(parser)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    if args.child:
        print(json.dumps(child(args.child, args.data_dir, args.out, args.training)))
        return
    if not (args.data / "SST-2" / "train.tsv").is_file():
        sys.exit(f"bench_sst2_epoch: '{args.data}/SST-2/train.tsv' not found; --data names the GLUE folder")
    from eebench.tasks import prepare_task

    measurement = Measurement.begin()
    task_options, training = settings(args.data, args.max_steps)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        info = prepare_task(TASK, task_options, Path(tmp) / "data", SEED)
        results = run_modes(Path(tmp) / "data", Path(tmp), training, args.threads, args.side_by_side)
    load_after = os.getloadavg()
    size = results["new"]["train_size"]
    setting = [f"MiniLM-L6, joint strategy, seed {SEED}, the SST-2 experiment of {CONFIG.relative_to(REPO)} "
               f"({', '.join(f'{k} {v}' for k, v in training.items())}) on its {size:,} training sentences"
               + ("" if not args.max_steps else f", CUT SHORT at {args.max_steps} steps: not an epoch"),
               f"test: the {info['sizes']['test'] if 'sizes' in info else 'GLUE dev'} sentences of GLUE's dev set",
               f"{'two runs side by side' if args.side_by_side else 'one run after the other'}, {args.threads} "
               f"thread(s) each, torch {torch.__version__}, {os.cpu_count()} CPUs",
               f"load average (1 min) {load_before[0]:.2f} before, {load_after[0]:.2f} after"]
    print(setting[0])
    for line in setting[1:]:
        print(f"  {line}")
    for mode, r in results.items():
        print(f"  {MODES[mode][0]:15s} {r['precision']:5s} {r['seconds'] / 60:6.1f} min  {r['examples_per_second']:6.1f}"
              f" examples/s  test accuracy by exit {', '.join(f'{a:.3f}' for a in r['accuracy'])}")
    print(f"  test sentences whose prediction differs between the two models, by exit: "
          f"{', '.join(str(n) for n in disagreements(results))} of {len(results['new']['predictions'][0])}")
    speedup, difference = verdicts(results)
    met = speedup >= TARGET and abs(difference) <= ACCURACY_TOLERANCE
    print(f"  epoch time old / new: {speedup:.2f}x, final-exit accuracy new - old {difference:+.3f}  "
          f"target >= {TARGET}x within {ACCURACY_TOLERANCE}: {'met' if met else 'MISSED'}")
    if args.markdown:
        measurement.write(args.markdown, markdown(setting, results))


if __name__ == "__main__":
    main()
