"""Training the captioner's exits: `joint-kl` (BEEM) and `heads-only` (CapEEN's recipe).

Every (image, reference caption) pair of train is one example: decoder input `[bos] + caption`, target
`caption + [eos]`; padding positions are left out of every loss (CapEEN pads with eos and keeps those positions
in the loss; we do not, so a caption's end is learnt from its one eos).

- `joint-kl`: the whole model is trained; each generated position's loss is eebench's `joint-kl` strategy
  (`training.strategies.JointKL`: ce_weight·CE_i + kl_weight·T²·KL(p_L ‖ p_i) per exit, mean over exits).
- `heads-only` (CapEEN `train.py` then `train_exits.py`): phase 1 fine-tunes the captioner on its own LM loss
  (`backbone_epochs`; 0 when the backbone is an already fine-tuned `pretrained` model), phase 2 freezes it and
  trains exits 1..L-1 with 0.5·CE + 0.5·KL(p_L ‖ p_i), averaged over the exits (`head_epochs`). CapEEN's KL is
  `KLDivLoss(reduction="batchmean")` over [B, T, V], i.e. summed over positions; ours is the per-position mean
  like its CE, so the two halves weigh as the 0.5/0.5 says.

Resumable: a checkpoint (`training.checkpoint`, safetensors) every `checkpoint_every` optimizer steps beside the
model folder; rerunning the same command continues from the newest one (batch order comes from per-epoch seeded
generators, so the resumed run sees the same batches)."""

from __future__ import annotations

import json
import math
import shutil
import sys
import warnings
from pathlib import Path

import torch

from ..models.multi_exit import MultiExitOutput
from ..models.runtime import threads_for
from ..training.checkpoint import (checkpoint_root, latest_checkpoint, read_state, remove_checkpoints,
                                   restore_checkpoint, save_checkpoint, trainer_lock)
from ..training.dropout import use_fast_dropout
from ..training.optim import adamw, clipped_step
from ..training.strategies import distillation_losses, make_strategy, task_losses
from . import data, model as captioner_model
from .. import catalogue
from ..models.backbones.captioners import check_combination, downloads

IGNORE = -100


def phases(strategy: str, options: dict, epochs: float, has_pretrained: bool) -> list[tuple[str, float]]:
    """(what is trained, epochs) per phase: "all", "final" (captioner on its LM loss) or "heads"."""
    if strategy == "joint-kl":
        return [("all", epochs)]
    backbone = options["backbone_epochs"]
    backbone = (0 if has_pretrained else epochs) if backbone is None else backbone
    head = options["head_epochs"] if options["head_epochs"] is not None else epochs
    return [(what, n) for what, n in (("final", backbone), ("heads", head)) if n > 0]


def token_examples(rows, tokenizer, max_length: int) -> list[tuple[int, list[int]]]:
    """(image index, caption ids) for every reference, captions cut to `max_length - 1` tokens (+ eos)."""
    return [(index, tokenizer.encode(caption)[: max_length - 1]) for index, row in enumerate(rows)
            for caption in row["captions"]]


def collate(examples, tokenizer) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(ids) for _, ids in examples) + 1
    inputs = torch.full((len(examples), width), tokenizer.pad_id, dtype=torch.long)
    targets = torch.full((len(examples), width), IGNORE, dtype=torch.long)
    for row, (_, ids) in enumerate(examples):
        inputs[row, : len(ids) + 1] = torch.tensor([tokenizer.bos_id] + ids)
        targets[row, : len(ids) + 1] = torch.tensor(ids + [tokenizer.eos_id])
    return inputs, targets


class PixelCache:
    """Pixel values of a split's images, processed once on first use (small tasks) or per batch (COCO)."""

    def __init__(self, rows, processor, keep: bool):
        self.rows, self.processor, self.keep, self.cache = rows, processor, keep, {}

    def __call__(self, indices) -> torch.Tensor:
        missing = [i for i in indices if i not in self.cache]
        if missing:
            images = [data.load_image(self.rows[i]["image"]) for i in missing]
            values = self.processor(images, return_tensors="pt")["pixel_values"]
            fresh = dict(zip(missing, values))
            if not self.keep:
                return torch.stack([fresh[i] for i in indices])
            self.cache.update(fresh)
        return torch.stack([self.cache[i] for i in indices])


def exit_losses(strategy: str, options: dict, what: str, logits: torch.Tensor, targets: torch.Tensor):
    """Loss of one batch from exit logits [B, T, L, V] and targets [B, T]; returns (total, per-exit losses)."""
    valid = targets != IGNORE
    flat, labels = logits[valid], targets[valid]  # [N, L, V], [N]
    if what == "final":
        loss = task_losses(flat[:, -1:], labels)[0]
        return loss, [None] * (flat.shape[1] - 1) + [float(loss.detach())]
    if what == "heads":
        ce = task_losses(flat[:, :-1], labels)
        kl = distillation_losses(flat[:, :-1], flat[:, -1], 1.0)
        losses = options["ce_weight"] * ce + options["kl_weight"] * kl
        return losses.mean(), [float(v) for v in losses.detach()] + [None]
    joint = make_strategy("joint-kl", options)
    step = joint.loss(0, 0, MultiExitOutput(logits=flat), labels)
    return step.total, step.per_exit


def train_captioner(data_dir, out_dir, backbone: str, backbone_options: dict | None, strategy: str,
                    strategy_opts: dict | None, training: dict | None, seed: int) -> None:
    """Train captioner `backbone` with `strategy` (joint-kl or heads-only); `training` is the checked training
    mapping (eebench.training.options) of which a captioner reads epochs, max_steps, lr, batch_size,
    warmup_ratio, weight_decay, checkpoint_every and grad_clip."""
    options = catalogue.get("backbone", backbone).check(backbone_options)
    strat = catalogue.get("strategy", strategy).check(strategy_opts)
    train_opts = training
    check_combination(backbone, options, strategy)
    torch.manual_seed(seed)
    rows = data.read_split(data_dir, "train")
    captioner, tokenizer = captioner_model.build(options, [c for r in rows for c in r["captions"]])
    use_fast_dropout(captioner)
    processor = captioner_model.image_processor(options)
    pixels = PixelCache(rows, processor, keep=len(rows) <= 20000)
    examples = token_examples(rows, tokenizer, options["max_length"])
    out_dir = Path(out_dir)
    root = checkpoint_root(out_dir)
    plan = phases(strategy, strat, train_opts["epochs"], bool(options.get("pretrained")))
    with trainer_lock(root), threads_for(catalogue.get("backbone", backbone).facts["family"], small=not downloads(options)):
        # the lock is held until the model is written and the checkpoints are gone
        log = _train_phases(captioner, tokenizer, pixels, examples, plan, strategy, strat, train_opts, seed, root)
        _write_model(captioner, tokenizer, out_dir, backbone, options, strategy, strat, train_opts, seed, log)
        remove_checkpoints(root)


def _train_phases(captioner, tokenizer, pixels, examples, plan, strategy, strat, train_opts, seed, root) -> list:
    """Run the phases of `plan`, resuming from the newest checkpoint in `root`; return the training log."""
    from transformers import get_linear_schedule_with_warmup

    resume = latest_checkpoint(root)
    state = read_state(resume) if resume else {"phase": 0, "step": 0, "log": []}
    if resume:
        print(f"eebench: resuming from {resume} (phase {state['phase'] + 1}, step {state['step']})", file=sys.stderr)
    global_step = len(state["log"])
    for phase_index, (what, epochs) in enumerate(plan):
        if phase_index < state["phase"]:
            continue
        trainable = _set_trainable(captioner, what)
        optimizer = adamw(trainable, lr=train_opts["lr"], weight_decay=train_opts["weight_decay"])
        per_epoch = math.ceil(len(examples) / train_opts["batch_size"])
        total = math.ceil(per_epoch * epochs)
        if train_opts["max_steps"]:
            total = min(total, train_opts["max_steps"])
        scheduler = get_linear_schedule_with_warmup(optimizer, int(train_opts["warmup_ratio"] * total), total)
        start = 0
        if resume and phase_index == state["phase"]:
            restore_checkpoint(resume, captioner, optimizer)
            start = state["step"]
            with warnings.catch_warnings():  # replaying the schedule without optimizer steps is intended
                warnings.simplefilter("ignore", UserWarning)
                for _ in range(start):
                    scheduler.step()
        captioner.train()
        for step in range(start, total):
            epoch, offset = divmod(step, per_epoch)
            order = torch.randperm(len(examples), generator=torch.Generator().manual_seed(seed * 1000 + epoch))
            batch = [examples[i] for i in order[offset * train_opts["batch_size"]:][: train_opts["batch_size"]]]
            inputs, targets = collate(batch, tokenizer)
            logits = captioner(pixels([i for i, _ in batch]), inputs)
            loss, per_exit = exit_losses(strategy, strat, what, logits, targets)
            optimizer.zero_grad()
            loss.backward()
            clipped_step(optimizer, train_opts["grad_clip"])
            scheduler.step()
            global_step += 1
            state["log"].append({"phase": what, "step": step + 1, "epoch": epoch, "loss": float(loss.detach()),
                                 "loss_per_exit": per_exit})
            if (step + 1) % train_opts["checkpoint_every"] == 0 and step + 1 < total:
                save_checkpoint(root, global_step, captioner, optimizer,
                                {"phase": phase_index, "step": step + 1, "log": state["log"]})
        state = {"phase": phase_index + 1, "step": 0, "log": state["log"]}
    return state["log"]


def _set_trainable(captioner, what: str) -> list[torch.nn.Parameter]:
    for parameter in captioner.parameters():
        parameter.requires_grad_(what != "heads")
    if what == "heads":
        for parameter in captioner.heads.parameters():
            parameter.requires_grad_(True)
    return [p for p in captioner.parameters() if p.requires_grad]


def _write_model(captioner, tokenizer, out_dir: Path, backbone, options, strategy, strat, train_opts, seed, log):
    tmp = out_dir.with_name(f".{out_dir.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    captioner_model.save(captioner.eval(), tokenizer, tmp, backbone, options,
                         {"strategy": strategy, "strategy_options": strat, "training": train_opts, "seed": seed})
    (tmp / "train_log.jsonl").write_text("".join(json.dumps(entry) + "\n" for entry in log))
    if out_dir.exists():
        shutil.rmtree(out_dir)
    tmp.rename(out_dir)
