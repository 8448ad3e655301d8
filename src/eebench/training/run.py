"""`train_run`: the `eebench train` stage — data → multi-exit model → trained model folder."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import torch

from ..errors import ConfigError, DataError
from ..models import build_model, write_model_dir
from ..models.backbones import backbone_options as resolve_backbone_options
from ..models.backbones import get_backbone
from ..models.runtime import seed_everything, select_device, threads_for
from .checkpoint import checkpoint_root, remove_checkpoints, trainer_lock
from .loop import Trainer, write_log
from .options import training_options
from .precision import resolve_precision
from .strategies import make_strategy

TRAIN_LOG = "train_log.jsonl"


def train_run(
    data_dir: Path,
    out_dir: Path,
    backbone: str,
    backbone_options: dict,
    strategy: str,
    strategy_options: dict,
    training: dict,
    seed: int,
) -> None:
    """Train `backbone` with `strategy` on `data_dir`'s train split and write the model folder `out_dir`.
    Rerunning after an interruption resumes from `{out_dir}.checkpoints/` when the settings are the same."""
    from ..tasks import load_info, load_split

    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ConfigError(f"train: 'seed' must be a non-negative integer, got {seed!r}")
    if Path(out_dir).exists() and not Path(out_dir).is_dir():
        raise DataError(f"'{out_dir}': is a file; expected the path of a model folder")
    opts = training_options(training)
    check_trainable(data_dir, backbone, strategy)
    if get_backbone(backbone).kind == "captioner":  # an encoder-decoder that generates captions token by token
        from ..captioning.train import train_captioner

        return train_captioner(data_dir, out_dir, backbone, backbone_options, strategy, strategy_options,
                               opts.to_dict(), seed)
    strat = make_strategy(strategy, strategy_options)
    resolved_backbone = resolve_backbone_options(backbone, backbone_options)
    device = select_device(opts.device)
    resolve_precision(opts.precision, device)  # a bad combination (fp16 on the CPU) fails before any work
    info = load_info(data_dir)
    train = load_split(data_dir, "train")
    with threads_for(get_backbone(backbone).family):
        _train(data_dir, Path(out_dir), backbone, resolved_backbone, strategy, strat, opts, device, info, train, seed)


def check_trainable(data_dir, backbone: str, strategy: str) -> None:
    """The backbone and the strategy take the prepared task's modality (the config check says the same before a
    grid starts; this is for `eebench train` called by hand): one line, not a failure deep inside training."""
    from .. import catalogue
    from ..io import read_json

    info = read_json(Path(data_dir) / "info.json")  # a caption task's folder has its own format (captioning.data)
    modality = info.get("modality") if isinstance(info, dict) else None
    if modality is None:
        raise DataError(f"'{data_dir}/info.json': no field 'modality' (is this folder made by `eebench prepare`?)")
    for kind, name in (("backbone", backbone), ("strategy", strategy)):
        problem = catalogue.modality_problem(kind, name, modality)
        if problem:
            raise ConfigError(f"train: {problem}, and '{data_dir}' holds a task of modality {modality}")


def _train(data_dir, out_dir, backbone, resolved_backbone, strategy, strat, opts, device, info, train, seed) -> None:
    seed_everything(seed)
    bundle = build_model(
        backbone, resolved_backbone, info["n_classes"], info["modality"], train.inputs,
        max_length=opts.max_length, lte_heads=strat.uses_lte,
    )
    model = bundle.model.to(device)
    encoded = bundle.encoder.encode(train.inputs, source=f"{data_dir}/train")
    labels = torch.as_tensor(train.labels, dtype=torch.float32 if info["n_classes"] == 1 else torch.long)

    signature = _signature(backbone, resolved_backbone, strategy, strat.options, opts.to_dict(), seed, info, len(train))
    ckpt_dir = checkpoint_root(out_dir)
    with trainer_lock(ckpt_dir):  # held until the model is written and the checkpoints are gone
        trainer = Trainer(model, strat, opts, device, seed, encoded, labels, ckpt_dir, signature)
        print(f"eebench: training {backbone}/{strategy} seed {seed} on {_device_name(device)} in "
              f"{trainer.precision} (training.precision: {opts.precision})", file=sys.stderr)
        result = trainer.run()
        bundle.model = model.cpu()
        bundle.record["training"] = {
            "strategy": strategy, "strategy_options": strat.options, "options": opts.to_dict(), "seed": seed,
            "device": str(device), "precision": trainer.precision.to_dict(), "steps": result.steps,
            "seconds_this_process": round(result.seconds, 2),
            "examples_per_second": round(result.examples / result.seconds, 2) if result.seconds else None,
            "task": info.get("task"), "train_size": len(train),
        }
        write_model_dir(bundle, out_dir, extra_files={TRAIN_LOG: write_log(result.log)})
        remove_checkpoints(ckpt_dir)
    print(f"eebench: trained {backbone}/{strategy} seed {seed}: {result.steps} steps → {out_dir}", file=sys.stderr)


def _device_name(device: torch.device) -> str:
    return f"{device} ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else "cpu"


def _signature(backbone, bopts, strategy, sopts, training, seed, info, n_train) -> str:
    """Settings a checkpoint must match to be resumed (device and checkpoint interval may differ)."""
    relevant = {k: v for k, v in training.items() if k not in ("device", "checkpoint_every")}
    blob = json.dumps([backbone, bopts, strategy, sopts, relevant, seed, info.get("task"), info.get("n_classes"), n_train],
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
