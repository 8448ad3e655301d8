"""The training loop: phases of a strategy, length-grouped batches, linear warm-up/decay, fused AdamW with the
clip folded in (`optim`), mixed precision (`precision`), dropout with cheaper CPU masks (`dropout`), progress
bars, a JSONL log (with examples per second), periodic checkpoints, and a SIGTERM handler that checkpoints before
the process ends (SLURM sends SIGTERM at the time limit and on preemption), so rerunning the same command resumes
where it stopped.

On a GPU the loop never waits for the device inside a step: batches go from pinned memory with non-blocking
copies, and the log's figures stay on the device until the log is read, every `LOG_EVERY` steps, at a checkpoint
and at the end (the log holds every step all the same)."""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..models.inputs import EncodedSplit
from ..models.multi_exit import MultiExitModel
from ..models.runtime import progress_bar
from ..errors import EEBenchError
from .checkpoint import (
    latest_checkpoint, orphaned, read_state, release_lock, restore_checkpoint, save_checkpoint, snakemake_ancestor,
)
from .dropout import use_fast_dropout
from .optim import adamw, clipped_step
from .options import TrainingOptions
from .precision import apply_matmul_precision, resolve_precision
from .strategies import Phase, Strategy


@dataclass
class TrainResult:
    log: list[dict]
    steps: int
    seconds: float
    examples: int


class Trainer:
    def __init__(
        self,
        model: MultiExitModel,
        strategy: Strategy,
        opts: TrainingOptions,
        device: torch.device,
        seed: int,
        data: EncodedSplit,
        labels: torch.Tensor,
        checkpoint_dir: Path,
        signature: str,
    ):
        self.model, self.strategy, self.opts, self.device, self.seed = model, strategy, opts, device, seed
        self.data, self.labels = data, labels
        self.checkpoint_dir, self.signature = checkpoint_dir, signature
        self.precision = resolve_precision(opts.precision, device)
        self.phases = strategy.phases(opts.epochs)
        strategy.bind(model)
        use_fast_dropout(model)
        self.steps_per_epoch = math.ceil(len(data) / opts.batch_size)
        self.lengths = data.lengths() if opts.group_by_length else None
        self._epoch: tuple[tuple[int, int], list[np.ndarray]] | None = None  # ((phase, epoch), its batches)
        self.log: list[dict] = []
        self._pending: list[dict] = []  # log entries whose figures are still tensors (see _flush_log)
        self.resume_folder: Path | None = None  # the checkpoint `run` resumes from
        self.stop_requested = False
        self.snakemake_pid = snakemake_ancestor()  # checked at each checkpoint: has Snakemake died?

    def phase_steps(self, phase: Phase) -> int:
        steps = max(1, math.ceil(phase.epochs * self.steps_per_epoch))
        return min(steps, self.opts.max_steps) if self.opts.max_steps else steps

    def run(self) -> TrainResult:
        start_phase, start_step = self._resume_point()
        started, examples = time.perf_counter(), 0
        apply_matmul_precision(self.precision)
        with _stop_on_sigterm(self):
            for phase_index in range(start_phase, len(self.phases)):
                first = start_step if phase_index == start_phase else 0
                examples += self._run_phase(phase_index, first)
        return TrainResult(self.log, len(self.log), time.perf_counter() - started, examples)

    # -- one phase --------------------------------------------------------------------------------------------

    def _run_phase(self, phase_index: int, first_step: int) -> int:
        phase = self.phases[phase_index]
        total = self.phase_steps(phase)
        optimizer = self._optimizer(phase)
        if first_step:
            restore_checkpoint(self.resume_folder, self.model, optimizer)
        scaler = torch.amp.GradScaler(self.device.type, enabled=self.precision.dtype == "fp16")
        desc = f"train {self.strategy.name}" + (f" [{phase.name}]" if len(self.phases) > 1 else "")
        bar = progress_bar(total=total, initial=first_step, desc=desc, dynamic_ncols=True)
        examples, started = 0, time.perf_counter()
        self._set_train_mode(phase)
        for step in range(first_step, total):
            lr = self._set_lr(optimizer, step, total)
            indices = self._batch_indices(phase_index, step)
            batch = {k: self._to_device(v) for k, v in self.data.batch(indices).items()}
            labels = self._to_device(self.labels[indices])
            with self.precision.autocast(self.device):
                out = self.model(batch, frozen_backbone=phase.trains == "intermediate")
            out.logits = out.logits.float()
            if out.lte_scores is not None:
                out.lte_scores = out.lte_scores.float()
            loss = self.strategy.loss(phase_index, step, out, labels)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss.total).backward()
            scaler.unscale_(optimizer)
            clipped_step(optimizer, self.opts.grad_clip, step=lambda: scaler.step(optimizer))
            scaler.update()
            examples += len(indices)
            throughput = examples / (time.perf_counter() - started)  # over this phase in this process
            self._pending.append({
                "step": len(self.log) + len(self._pending) + 1, "phase": phase.name,
                "epoch": round((step + 1) / self.steps_per_epoch, 4), "loss": loss.total.detach(),
                "loss_per_exit": loss.exit_losses, "lr": lr, **loss.info,
                "examples_per_second": round(throughput, 2), "precision": self.precision.dtype,
            })
            bar.update(1)
            done = step + 1
            periodic = done % self.opts.checkpoint_every == 0 and done < total
            last = done == total and phase_index == len(self.phases) - 1
            parent_gone = (periodic or last) and orphaned(self.snakemake_pid)
            if done % LOG_EVERY == 0 or done == total or self.stop_requested or periodic or parent_gone:
                self._flush_log()
                bar.set_postfix(loss=f"{self.log[-1]['loss']:.4f}", ex_s=f"{throughput:.1f}", refresh=False)
            if self.stop_requested or periodic or parent_gone:
                self._checkpoint(phase_index, done, optimizer)
            if self.stop_requested:
                bar.close()
                raise _Terminated()
            if parent_gone:
                bar.close()
                raise OrphanedTrainer(
                    f"the Snakemake that started this trainer (PID {self.snakemake_pid}) has ended; stopped at step "
                    f"{len(self.log)} with a checkpoint in '{self.checkpoint_dir}' and no model; rerun to resume"
                )
        bar.close()
        return examples

    def _to_device(self, tensor: torch.Tensor) -> torch.Tensor:
        """Host → device: on a GPU through pinned memory without blocking (the copy is queued before the kernels
        that read it); on the CPU the tensor itself."""
        if self.device.type != "cuda":
            return tensor
        return tensor.pin_memory().to(self.device, non_blocking=True)

    def _flush_log(self) -> None:
        """Read the pending entries' figures (one host sync for all of them) into the log, then check the loss."""
        for entry in self._pending:
            entry["loss"] = float(entry["loss"])
            entry["loss_per_exit"] = [None if v is None else float(v) for v in entry["loss_per_exit"]]
            for key, value in entry.items():
                if isinstance(value, torch.Tensor):
                    entry[key] = value.tolist()
            self.log.append(entry)
            _check_finite(entry)
        self._pending = []

    def _batch_indices(self, phase_index: int, step: int) -> list[int]:
        # The batches of an epoch depend only on (seed, phase, epoch), so a resumed run sees the same batches.
        epoch, position = divmod(step, self.steps_per_epoch)
        if self._epoch is None or self._epoch[0] != (phase_index, epoch):
            rng = np.random.default_rng([self.seed, phase_index, epoch])
            self._epoch = ((phase_index, epoch), epoch_batches(rng, len(self.data), self.opts.batch_size, self.lengths))
        return self._epoch[1][position].tolist()

    def _optimizer(self, phase: Phase) -> torch.optim.Optimizer:
        params = [p for p in self._trainable(phase) if p.requires_grad]
        # No weight decay on biases and normalisation weights, as in BERT.
        decay = [p for p in params if p.ndim >= 2]
        no_decay = [p for p in params if p.ndim < 2]
        groups = [{"params": decay, "weight_decay": self.opts.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
        return adamw(groups, lr=self.opts.lr)

    def _trainable(self, phase: Phase) -> list[torch.nn.Parameter]:
        model = self.model
        if phase.trains == "all":
            return list(model.parameters())
        if phase.trains == "final":
            return model.backbone_parameters() + list(model.exits[-1].parameters())
        lte = list(model.lte.parameters()) if model.has_lte else []
        return [p for head in model.exits[:-1] for p in head.parameters()] + lte

    def _set_train_mode(self, phase: Phase) -> None:
        self.model.train()
        if phase.trains == "intermediate":  # frozen parts run as at inference (no dropout)
            self.model.adapter.eval()
            self.model.exits[-1].eval()

    def _set_lr(self, optimizer, step: int, total: int) -> float:
        """Linear warm-up over warmup_ratio of the phase, then linear decay to zero (BERT's schedule)."""
        warmup = round(self.opts.warmup_ratio * total)
        if step < warmup:
            factor = (step + 1) / warmup
        else:
            factor = (total - step) / max(1, total - warmup)
        lr = self.opts.lr * factor
        for group in optimizer.param_groups:
            group["lr"] = lr
        return lr

    # -- resume -----------------------------------------------------------------------------------------------

    def _checkpoint(self, phase_index: int, step: int, optimizer) -> None:
        state = {"signature": self.signature, "phase": phase_index, "step": step, "log": self.log,
                 "strategy": self.strategy.state_dict()}
        save_checkpoint(self.checkpoint_dir, len(self.log), self.model, optimizer, state)

    def _resume_point(self) -> tuple[int, int]:
        folder = latest_checkpoint(self.checkpoint_dir)
        if folder is None:
            return 0, 0
        state = read_state(folder)
        if state.get("signature") != self.signature:
            print(f"eebench: ignoring checkpoint {folder} (made with other settings)", file=sys.stderr)
            return 0, 0
        print(f"eebench: resuming from {folder} (phase {state['phase'] + 1}, step {state['step']})", file=sys.stderr)
        self.log, self.resume_folder = state["log"], folder
        self.strategy.load_state_dict(state.get("strategy", {}))
        return state["phase"], state["step"]


class OrphanedTrainer(EEBenchError):
    """The trainer's Snakemake ended; it stopped at a checkpoint rather than finish a model nobody records."""


class TrainingDiverged(EEBenchError):
    """The loss became NaN or infinite."""


def _check_finite(entry: dict) -> None:
    if not math.isfinite(entry["loss"]):
        raise TrainingDiverged(
            f"training diverged: the loss is {entry['loss']} at step {entry['step']} (phase {entry['phase']!r}, "
            f"epoch {entry['epoch']}); no model written; lower the training option 'lr' or check the data"
        )


LOG_EVERY = 50  # steps between reads of the log's figures from the device (and progress-bar loss updates)
GROUP_BATCHES = 50  # batches sorted by length together (as Hugging Face's LengthGroupedSampler)


def epoch_batches(rng: np.random.Generator, n: int, batch_size: int, lengths: np.ndarray | None) -> list[np.ndarray]:
    """One epoch's batches: a random permutation cut into batches; with `lengths` (text), each run of
    `GROUP_BATCHES` batches is sorted by length first and the batch order shuffled, so a batch holds sentences of
    similar length and pads little, while which sentences meet stays random."""
    order = rng.permutation(n)
    grouped = lengths is not None and np.ptp(lengths) > 0
    if grouped:
        group = batch_size * GROUP_BATCHES
        chunks = np.split(order, range(group, n, group))
        order = np.concatenate([chunk[np.argsort(-lengths[chunk], kind="stable")] for chunk in chunks])
    batches = [order[i:i + batch_size] for i in range(0, n, batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))] if grouped else batches


class _Terminated(Exception):
    """SIGTERM arrived; a checkpoint has been written."""


@contextlib.contextmanager
def _stop_on_sigterm(trainer: Trainer):
    """Turn SIGTERM into "finish this step, checkpoint, then die by SIGTERM" (only the main thread can)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def request_stop(signum, frame):
        trainer.stop_requested = True

    previous = signal.signal(signal.SIGTERM, request_stop)
    try:
        yield
    except _Terminated:
        signal.signal(signal.SIGTERM, previous)
        release_lock(trainer.checkpoint_dir)  # a requeued job may restart on another host, which cannot see we died
        print("eebench: SIGTERM received; checkpoint written, rerun the same command to resume", file=sys.stderr)
        os.kill(os.getpid(), signal.SIGTERM)
        raise SystemExit(128 + signal.SIGTERM)
    finally:
        signal.signal(signal.SIGTERM, previous)


def write_log(log: list[dict]) -> str:
    return "".join(json.dumps(entry) + "\n" for entry in log)
