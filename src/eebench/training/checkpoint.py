"""Resumable training checkpoints: model weights, optimizer state and RNG state in safetensors, the rest in JSON.

Checkpoints live beside the model folder (`{model}.checkpoints/step-NNNNNNNN/`), not inside it, because Snakemake
deletes a job's declared outputs before rerunning it. Each is written to a temporary folder, fsynced and renamed
(then the folder is fsynced), with the SHA-256 of every file in its state; the two newest are kept, so a newest
one that a node crash left corrupt is moved aside (`corrupt-step-…`) and training resumes from the one before.
A lock file (`trainer.lock`: PID and host) keeps a second trainer out of the folder. Nothing is unpickled."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import torch
from safetensors.torch import load_file, load_model, save_file, save_model

from ..errors import EEBenchError
from ..io import file_sha256, give_usual_permissions

STATE = "state.json"
LOCK = "trainer.lock"
KEEP = 2  # checkpoints kept: the newest, and the one to fall back on if the newest is found corrupt
TENSOR_FILES = ("model.safetensors", "optimizer.safetensors", "rng.safetensors")


class TrainerLockedError(EEBenchError):
    """Another live trainer holds the run's checkpoint folder."""


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
        checksums = {name: file_sha256(tmp / name) for name in TENSOR_FILES}
        (tmp / STATE).write_text(json.dumps({**state, "optimizer_param_groups": groups, "checksums": checksums}))
        for name in (*TENSOR_FILES, STATE):
            _fsync(tmp / name)
        give_usual_permissions(tmp)
        _fsync(tmp)
        final = root / f"step-{global_step:08d}"
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
        _fsync(root)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for older in _complete_checkpoints(root)[:-KEEP]:
        shutil.rmtree(older, ignore_errors=True)


def latest_checkpoint(root: Path) -> Path | None:
    """The newest checkpoint that verifies; newer ones that do not are moved aside with a warning."""
    for folder in reversed(_complete_checkpoints(root) if root.is_dir() else []):
        problem = checkpoint_problem(folder)
        if problem is None:
            return folder
        aside = folder.with_name(f"corrupt-{folder.name}")
        shutil.rmtree(aside, ignore_errors=True)
        os.replace(folder, aside)
        print(f"eebench: warning: checkpoint {folder} is corrupt ({problem}); moved it to {aside.name}, "
              "resuming from the one before", file=sys.stderr)
    return None


def checkpoint_problem(folder: Path) -> str | None:
    """What is wrong with a checkpoint folder (unreadable state, missing file, checksum mismatch), or None."""
    try:
        state = read_state(folder)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return f"{STATE} unreadable: {exc}"
    checksums = state.get("checksums") if isinstance(state, dict) else None
    if not isinstance(checksums, dict) or set(checksums) != set(TENSOR_FILES):
        return f"{STATE} has no checksums of {', '.join(TENSOR_FILES)}"
    for name, expected in checksums.items():
        if not (folder / name).is_file():
            return f"{name} missing"
        if file_sha256(folder / name) != expected:
            return f"{name} does not match its checksum"
    return None


def read_state(folder: Path) -> dict:
    return json.loads((folder / STATE).read_text())


@contextlib.contextmanager
def trainer_lock(root: Path) -> Iterator[None]:
    """Hold the run's checkpoint-folder lock for the block (see acquire_lock)."""
    acquire_lock(root)
    try:
        yield
    finally:
        release_lock(root)


def acquire_lock(root: Path) -> Path:
    """Create `root/trainer.lock` naming this process, or raise TrainerLockedError naming the live holder.
    A lock left by a dead process on this host is taken over."""
    root.mkdir(parents=True, exist_ok=True)
    lock = root / LOCK
    me = {"pid": os.getpid(), "host": socket.gethostname()}
    for _ in range(3):
        try:
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            holder = _lock_holder(lock)
            if holder is not None and not _is_stale(holder, me["host"]):
                raise TrainerLockedError(
                    f"'{root}': another trainer (PID {holder['pid']} on host {holder['host']}) is training this run; "
                    f"wait for it to end, or delete '{lock}' if that process is gone"
                ) from None
            lock.unlink(missing_ok=True)
            continue
        with os.fdopen(fd, "w") as fh:
            fh.write(json.dumps(me))
        return lock
    raise TrainerLockedError(f"'{lock}': could not take the trainer lock (another trainer keeps re-creating it)")


def release_lock(root: Path) -> None:
    """Remove the lock if this process holds it."""
    lock = root / LOCK
    holder = _lock_holder(lock)
    if holder is not None and holder.get("pid") == os.getpid() and holder.get("host") == socket.gethostname():
        lock.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            root.rmdir()  # only when no checkpoint is left in it


def remove_checkpoints(root: Path) -> None:
    """Delete every checkpoint of a finished run (the lock stays until its holder releases it)."""
    for path in root.iterdir():
        if path.name != LOCK:
            shutil.rmtree(path)


def ancestry() -> list[int]:
    """PIDs of this process's parent, grandparent … up to init (Linux; elsewhere just the parent)."""
    chain, pid = [], os.getppid()
    while pid > 1 and len(chain) < 64:
        chain.append(pid)
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:  # no /proc (macOS), or the process just ended
            break
        pid = int(stat.rsplit(")", 1)[1].split()[1])
    return chain


def snakemake_ancestor() -> int | None:
    """PID of the nearest ancestor that is Snakemake (`snakemake …` or `python -m snakemake …`), or None. Snakemake
    runs a job as `bash -c '… | tee log'`; when Snakemake is killed that shell lives on, so the trainer's own parent
    does not change, but Snakemake leaves the chain of ancestors."""
    for pid in ancestry():
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[:3]
        except OSError:
            continue
        if "snakemake" in (Path(arg.decode(errors="replace")).name for arg in argv):
            return pid
    return None


def orphaned(snakemake_pid: int | None) -> bool:
    """Whether the Snakemake that started this trainer has ended (False when no Snakemake started it)."""
    return snakemake_pid is not None and snakemake_pid not in ancestry()


def _lock_holder(lock: Path) -> dict | None:
    """The lock's {pid, host}; None when it is unreadable (a crash between create and write), so it is retaken."""
    try:
        holder = json.loads(lock.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return holder if isinstance(holder, dict) and isinstance(holder.get("pid"), int) else None


def _is_stale(holder: dict, host: str) -> bool:
    if holder.get("host") != host:
        return False  # another machine's process cannot be checked from here
    try:
        os.kill(holder["pid"], 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except PermissionError:  # it exists, owned by another user
        pass
    return False


def restore_checkpoint(folder: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> None:
    load_model(model, str(folder / "model.safetensors"))
    groups = read_state(folder)["optimizer_param_groups"]
    optimizer.load_state_dict(_unflatten_optimizer(load_file(str(folder / "optimizer.safetensors")), groups))
    _set_rng(load_file(str(folder / "rng.safetensors")))



def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
