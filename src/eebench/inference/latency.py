"""`measure_latency`: wall-clock time of real early-exit inference at each batch size asked for (the config's
`latency.batch_sizes`; 1 and 32 by default), against the full-depth model, repeated over several passes, plus the
check that real decisions equal the simulated ones.

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
from ..training.precision import apply_matmul_precision, inference_precision
from .early_exit import EarlyExitRunner, FullDepthRunner
from .predict import length_sorted_batches

WARMUP_CALLS = 3


def measure_latency(
    model_dir: Path, data_dir: Path, fit_path: Path, out_path: Path, batch_sizes: Sequence[int] = (1, 32),
    samples: int = 200, passes: int = 5, precision: str | None = None,
) -> None:
    """Time early-exit and full-depth inference of the first `samples` test samples at each batch size over
    `passes` passes (config `latency.samples`, `latency.passes`) and check that the real decisions equal the simulated ones. Inputs are collated and moved to
    the device before timing: the figures are the model's, not the input pipeline's. The model runs in the
    precision it was trained in unless `precision` (a `training.precision` value) says otherwise."""
    from ..policies import policy_from_dict
    from ..tasks import load_split

    policy = policy_from_dict(read_json(fit_path))
    if getattr(policy, "online", False):
        raise ConfigError(f"policy '{policy.id}' learns online over a stream; real-inference latency supports offline policies")
    from ..captioning.inference import caption_latency, is_captioner

    if is_captioner(model_dir):  # token-level early exit while decoding
        return caption_latency(policy, model_dir, data_dir, out_path, batch_sizes, samples, passes)
    bundle = load_model(model_dir)
    device = select_device("auto")
    model = bundle.model.to(device).eval()
    run_in = inference_precision(bundle.record, device, precision)
    apply_matmul_precision(run_in)
    test = load_split(data_dir, "test")
    if samples < 1 or passes < 1:
        raise ConfigError(f"latency: samples and passes must be at least 1, got samples={samples}, passes={passes}")
    n = min(samples, len(test))
    labels = np.asarray(test.labels[:n])
    encoded = bundle.encoder.encode(test.inputs[:n], source=f"{data_dir}/test")
    with threads_for(bundle.record["family"]):
        threads = torch.get_num_threads()
    report = {
        "policy": policy.id, "device": str(device), "precision": run_in.to_dict(), "torch_threads": threads,
        "cpu_count": os.cpu_count(),
        "n_samples": n, "n_exits": model.n_exits, "passes": passes, "by_batch_size": {},
    }
    for batch_size in batch_sizes:
        batches = [np.array([i]) for i in range(n)] if batch_size == 1 else length_sorted_batches(encoded, batch_size)
        inputs = [{k: v.to(device) for k, v in encoded.batch(ix).items()} for ix in batches]
        calls = list(zip(batches, inputs))
        early_exit, full_depth = EarlyExitRunner(model, policy), FullDepthRunner(model)
        with threads_for(bundle.record["family"]), run_in.autocast(device):
            real, early_s, full_s = timed_passes(
                calls,
                lambda ix, batch: early_exit(batch, labels[ix]),
                lambda ix, batch: full_depth(batch),
                device,
                passes,
            )
        exit_layer = _gather(batches, [r.exit_layer for r in real], n)
        with run_in.autocast(device):
            simulated = _simulated_exits(policy, model, calls, labels, n)
        report["by_batch_size"][str(batch_size)] = {
            "batch_size": batch_size,
            **timing_summary(early_s, full_s, n),
            "mean_exit_layer": float(exit_layer.mean()),
            "layer_speedup": float(model.n_exits / exit_layer.mean()),
            "decisions_match_simulation": bool(np.array_equal(exit_layer, simulated)),
            "decision_agreement": float(np.mean(exit_layer == simulated)),
        }
    report["decisions_match_simulation"] = all(e["decisions_match_simulation"] for e in report["by_batch_size"].values())
    write_json(out_path, report)


def timing_summary(early_s: np.ndarray, full_s: np.ndarray, n: int) -> dict[str, float]:
    """Seconds per pass [P] of both modes → min and median per mode, and the wall-clock speed-up of the medians
    with its spread over the passes (each pass's full / early ratio)."""
    ratios = full_s / early_s
    return {
        "early_exit_seconds_min": float(early_s.min()),
        "early_exit_seconds_median": float(np.median(early_s)),
        "full_depth_seconds_min": float(full_s.min()),
        "full_depth_seconds_median": float(np.median(full_s)),
        "early_exit_samples_per_second": n / float(np.median(early_s)),
        "full_depth_samples_per_second": n / float(np.median(full_s)),
        "wall_clock_speedup": float(np.median(full_s) / np.median(early_s)),
        "wall_clock_speedup_of_min": float(full_s.min() / early_s.min()),
        "wall_clock_speedup_spread": [float(ratios.min()), float(ratios.max())],
    }


def timed_passes(
    calls: list, early: Callable, full: Callable, device, passes: int
) -> tuple[list, np.ndarray, np.ndarray]:
    """`passes` passes over `calls` ((indices, batch) pairs); within a pass early-exit and full-depth inference
    alternate call by call, so that load from other processes affects both alike. Returns the early-exit results of
    the last pass and the seconds of each pass [P] for both modes."""
    for indices, batch in calls[:WARMUP_CALLS]:
        early(indices, batch)
        full(indices, batch)
    early_s, full_s = np.zeros(passes), np.zeros(passes)
    for p in range(passes):
        results = []
        for indices, batch in calls:
            for run, times in ((early, early_s), (full, full_s)):
                _synchronize(device)
                started = time.perf_counter()
                result = run(indices, batch)
                _synchronize(device)
                times[p] += time.perf_counter() - started
                if run is early:
                    results.append(result)
    return results, early_s, full_s


def _simulated_exits(policy, model, calls, labels, n) -> np.ndarray:
    from ..policies import simulate

    exits = []
    with torch.inference_mode():
        for indices, batch in calls:
            out = model(batch)
            inputs = {"lte_scores": out.lte_scores.float().cpu().numpy()} if out.lte_scores is not None else {}
            if "labels" in policy.sample_inputs:
                inputs["labels"] = labels[indices]
            exits.append(simulate(policy, out.logits.float().cpu().numpy(), **inputs)[0])
    return _gather([ix for ix, _ in calls], exits, n)


def _gather(batches: list[np.ndarray], values: list[np.ndarray], n: int) -> np.ndarray:
    out = np.zeros(n, dtype=np.int64)
    for indices, value in zip(batches, values):
        out[indices] = value
    return out


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
