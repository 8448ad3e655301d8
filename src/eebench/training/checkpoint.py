"""Resumable training checkpoints: model weights, optimizer state and RNG state in safetensors, the rest in JSON.

Checkpoints live beside the model folder (`{model}.checkpoints/step-NNNNNNNN/`), not inside it, because Snakemake
deletes a job's declared outputs before rerunning it. Each is written to a temporary folder and renamed, and only
the newest complete one is kept. Nothing is unpickled."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, load_model, save_file, save_model

STATE = "state.json"


@dataclass
class Resumed:
    phase: int
    step: int  # optimizer steps done in that phase
    log: list[dict]
    extra: dict


def checkpoint_root(model_dir: Path) -> Path:
    return Path(model_dir).with_name(Path(model_dir).name + ".checkpoints")


def save_checkpoint(
    root: Path, global_step: int, model: torch.nn.Module, optimizer: torch.optim.Optimizer, state: dict
) -> None:
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".step-", dir=root))
    try:
        save_model(model, str(tmp / "model.safetensors"))
        tensors, groups = _flatten_optimizer(optimizer.state_dict())
        save_file(tensors, str(tmp / "optimizer.safetensors"))
        save_file(_rng_tensors(), str(tmp / "rng.safetensors"))
        (tmp / STATE).write_text(json.dumps({**state, "optimizer_param_groups": groups}))
        final = root / f"step-{global_step:08d}"
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for older in _complete_checkpoints(root)[:-1]:
        shutil.rmtree(older, ignore_errors=True)


def latest_checkpoint(root: Path) -> Path | None:
    found = _complete_checkpoints(root) if root.is_dir() else []
    return found[-1] if found else None


def read_state(folder: Path) -> dict:
    return json.loads((folder / STATE).read_text())


def restore_checkpoint(folder: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> None:
    load_model(model, str(folder / "model.safetensors"))
    groups = read_state(folder)["optimizer_param_groups"]
    optimizer.load_state_dict(_unflatten_optimizer(load_file(str(folder / "optimizer.safetensors")), groups))
    _set_rng(load_file(str(folder / "rng.safetensors")))


def _complete_checkpoints(root: Path) -> list[Path]:
    return sorted(p for p in root.glob("step-*") if (p / STATE).is_file())


def _flatten_optimizer(state_dict: dict) -> tuple[dict[str, torch.Tensor], list[dict]]:
    tensors = {
        f"{param}.{key}": value.detach().cpu().contiguous()
        for param, entries in state_dict["state"].items()
        for key, value in entries.items()
    }
    return tensors, state_dict["param_groups"]


def _unflatten_optimizer(tensors: dict[str, torch.Tensor], groups: list[dict]) -> dict:
    state: dict[int, dict[str, torch.Tensor]] = {}
    for name, value in tensors.items():
        param, key = name.split(".", 1)
        state.setdefault(int(param), {})[key] = value
    return {"state": state, "param_groups": groups}


def _rng_tensors() -> dict[str, torch.Tensor]:
    # The loop draws randomness only from torch (dropout); batch order comes from seeded per-epoch generators.
    tensors = {"torch_cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        tensors.update({f"torch_cuda_{i}": s for i, s in enumerate(torch.cuda.get_rng_state_all())})
    return tensors


def _set_rng(tensors: dict[str, torch.Tensor]) -> None:
    torch.set_rng_state(tensors["torch_cpu"])
    cuda_keys = sorted((k for k in tensors if k.startswith("torch_cuda_")), key=lambda k: int(k.rsplit("_", 1)[1]))
    cuda = [tensors[k] for k in cuda_keys]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda)
