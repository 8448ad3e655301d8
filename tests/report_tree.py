"""A small results tree for the report tests, made in seconds: synthetic multi-exit logits (deeper exits more often
right) for two models × two seeds, run through the real fit / evaluate / curve / check stages, then aggregated."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from eebench.policies.checks import check_stage
from eebench.policies.stages import curve_stage, evaluate_stage, fit_stage
from eebench.report.aggregate import aggregate_task

TASK = "toy"
MODELS = [("mlp", "joint"), ("mlp", "joint-kl")]
SEEDS = [0, 1]
POLICIES = {"final": {}, "static-k": {}, "maxprob": {}, "entropy": {}, "patience": {}, "beem-c": {},
            "pcee": {"delta": 0.9}, "ucb": {}, "oracle": {}}
N_EXITS, N_CLASSES, TOLERANCE = 4, 3, 0.02


def synthetic_exits(rng: np.random.Generator, n: int, sharpness: float) -> dict[str, np.ndarray]:
    """Logits [n, L, C]: each sample's evidence for its label grows with depth at its own (difficulty) rate."""
    labels = rng.integers(0, N_CLASSES, n)
    ease = rng.gamma(2.0, 1.0, n)
    depth = np.arange(1, N_EXITS + 1) / N_EXITS
    logits = rng.normal(0.0, 1.0, (n, N_EXITS, N_CLASSES))
    logits[np.arange(n), :, labels] += sharpness * ease[:, None] * depth[None, :]
    return {"logits": logits.astype(np.float32), "labels": labels, "sample_ids": np.arange(n)}


def make_run(results: Path, backbone: str, strategy: str, seed: int) -> None:
    run = results / "runs" / TASK / backbone / strategy / f"seed{seed}"
    rng = np.random.default_rng(1000 * seed + len(strategy))
    sharpness = 2.0 if strategy == "joint" else 2.6
    for split, n in (("val", 300), ("test", 400)):
        (run / "exits").mkdir(parents=True, exist_ok=True)
        np.savez(run / "exits" / f"{split}.npz", **synthetic_exits(rng, n, sharpness))
    flops = [10.0 * (i + 1) + 1 for i in range(N_EXITS)]
    (run / "costs.json").write_text(json.dumps({"flops": flops, "n_exits": N_EXITS}))
    (run / "model").mkdir(exist_ok=True)
    log = [{"step": step, "loss_per_exit": [1.0 / (step + 1) * (N_EXITS - i) for i in range(N_EXITS)]}
           for step in range(0, 50, 10)]
    (run / "model" / "train_log.jsonl").write_text("".join(json.dumps(line) + "\n" for line in log))
    for policy, params in POLICIES.items():
        cell = run / "policies" / policy
        fit_stage(run / "exits/val.npz", run / "costs.json", policy, params, "accuracy", TOLERANCE, cell / "fit.json")
        evaluate_stage(cell / "fit.json", run / "exits/test.npz", run / "costs.json", "accuracy", cell / "test.json")
        curve_stage(cell / "fit.json", run / "exits/test.npz", run / "costs.json", "accuracy", 12, cell / "curve.csv")
    check_stage(run / "exits/val.npz", run / "exits/test.npz", None, run / "checks.json")


def make_results_tree(results: Path) -> Path:
    """Write runs/, data/ and the aggregate's tables/ and plots/ under `results`; return `results`."""
    data = results / "data" / TASK
    data.mkdir(parents=True)
    (data / "info.json").write_text(json.dumps({"splits": {
        "test": {"size": 400, "label_distribution": {str(c): 133 for c in range(N_CLASSES)}, "image_shape": [8, 8]}}}))
    for backbone, strategy in MODELS:
        for seed in SEEDS:
            make_run(results, backbone, strategy, seed)
    return aggregate_tree(results)


def aggregate_tree(results: Path) -> Path:
    """Run the aggregate over the runs under `results` (what the `aggregate` rule does)."""
    data = results / "data" / TASK
    runs = [results / "runs" / TASK / b / s / f"seed{seed}" for b, s in MODELS for seed in SEEDS]
    aggregate_task(
        task=TASK, policies=list(POLICIES),
        test_paths=[run / "policies" / p / "test.json" for run in runs for p in POLICIES],
        curve_paths=[run / "policies" / p / "curve.csv" for run in runs for p in POLICIES],
        check_paths=[run / "checks.json" for run in runs], model_dirs=[run / "model" for run in runs],
        data_dir=data, out_dir=results, tolerance=TOLERANCE,
    )
    return results
