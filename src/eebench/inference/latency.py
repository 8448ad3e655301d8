"""`measure_latency`: wall-clock time of real early-exit inference at each of the given batch sizes (the config's
`latency.batch_sizes`; batch size 1 times samples one by one), against the full-depth model, plus the check that real decisions equal the simulated ones.

The check simulates the policy (`eebench.policies.simulate`) on all-exit logits computed for the very same
batches, so it compares decisions, not numerical noise between batch shapes."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from ..errors import ConfigError
from ..io import read_json, write_json
from ..models import load_model
from ..models.runtime import select_device, threads_for
from .early_exit import early_exit_predict, full_depth_predict
from .predict import length_sorted_batches

LATENCY_SAMPLES = 200  # test samples timed one by one
DEFAULT_BATCH_SIZES = (1, 32)
WARMUP_CALLS = 3


def measure_latency(model_dir: Path, data_dir: Path, fit_path: Path, out_path: Path,
                    batch_sizes: Sequence[int] = DEFAULT_BATCH_SIZES) -> None:
    """Write latency.json: the device, and under "timings" one record per batch size."""
    from ..policies import policy_from_dict
    from ..tasks import load_split

    policy = policy_from_dict(read_json(fit_path))
    if getattr(policy, "online", False):
        raise ConfigError(f"policy '{policy.id}' learns online over a stream; real-inference latency supports offline policies")
    bundle = load_model(model_dir)
    device = select_device("auto")
    model = bundle.model.to(device).eval()
    test = load_split(data_dir, "test")
    n = min(LATENCY_SAMPLES, len(test))
    labels = np.asarray(test.labels[:n])
    encoded = bundle.encoder.encode(test.inputs[:n], source=f"{data_dir}/test")

    def to_device(indices):
        return {k: v.to(device) for k, v in encoded.batch(indices).items()}

    with threads_for(bundle.record["family"]):
        threads = torch.get_num_threads()
    report = {
        "policy": policy.id, "device": str(device), "torch_threads": threads,
        "cpu_count": os.cpu_count(), "n_samples": n, "n_exits": model.n_exits,
    }
    report["timings"] = []
    for batch_size in batch_sizes:
        batches = [np.array([i]) for i in range(n)] if batch_size == 1 else length_sorted_batches(encoded, batch_size)
        with threads_for(bundle.record["family"]):
            real, early_s, full_s = _timed_pairs(
                batches,
                lambda ix: early_exit_predict(model, policy, to_device(ix), labels[ix]),
                lambda ix: full_depth_predict(model, to_device(ix)),
                device,
            )
        exit_layer = _gather(batches, [r.exit_layer for r in real], n)
        simulated = _simulated_exits(policy, model, batches, to_device, labels, n)
        report["timings"].append({
            "batch_size": int(batch_size),
            "early_exit_seconds": float(early_s.sum()),
            "full_depth_seconds": float(full_s.sum()),
            "early_exit_median_ms_per_call": float(1000 * np.median(early_s)),
            "full_depth_median_ms_per_call": float(1000 * np.median(full_s)),
            "early_exit_samples_per_second": n / float(early_s.sum()),
            "full_depth_samples_per_second": n / float(full_s.sum()),
            "wall_clock_speedup": float(full_s.sum() / early_s.sum()),
            "mean_exit_layer": float(exit_layer.mean()),
            "layer_speedup": float(model.n_exits / exit_layer.mean()),
            "decisions_match_simulation": bool(np.array_equal(exit_layer, simulated)),
            "decision_agreement": float(np.mean(exit_layer == simulated)),
        })
    report["decisions_match_simulation"] = all(timing["decisions_match_simulation"] for timing in report["timings"])
    write_json(out_path, report)


def _timed_pairs(batches, early: Callable, full: Callable, device) -> tuple[list, np.ndarray, np.ndarray]:
    """Time early-exit and full-depth inference batch by batch, alternating, so that load from other processes
    affects both alike. Returns the early-exit results and the seconds of each call."""
    for indices in batches[:WARMUP_CALLS]:
        early(indices)
        full(indices)
    results, early_s, full_s = [], [], []
    for indices in batches:
        for run, times in ((early, early_s), (full, full_s)):
            _synchronize(device)
            started = time.perf_counter()
            result = run(indices)
            _synchronize(device)
            times.append(time.perf_counter() - started)
            if run is early:
                results.append(result)
    return results, np.asarray(early_s), np.asarray(full_s)


def _simulated_exits(policy, model, batches, to_device, labels, n) -> np.ndarray:
    from ..policies import simulate

    exits = []
    with torch.inference_mode():
        for indices in batches:
            out = model(to_device(indices))
            inputs = {"lte_scores": out.lte_scores.float().cpu().numpy()} if out.lte_scores is not None else {}
            if "labels" in policy.sample_inputs:
                inputs["labels"] = labels[indices]
            exits.append(simulate(policy, out.logits.float().cpu().numpy(), **inputs)[0])
    return _gather(batches, exits, n)


def _gather(batches: list[np.ndarray], values: list[np.ndarray], n: int) -> np.ndarray:
    out = np.zeros(n, dtype=np.int64)
    for indices, value in zip(batches, values):
        out[indices] = value
    return out


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
