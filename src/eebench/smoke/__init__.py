"""Smoke mode: any grid (a `config/paper/*.yaml`) shrunk so that its whole DAG runs in CPU minutes, keeping every
task, strategy and policy, so a typo or a broken combination in a paper grid fails the smoke run.

`smoke_config` returns the shrunk config and writes its data:
- backbones: a pretrained one becomes a randomly initialised one of the same family (bert-base and minilm-l6 →
  `bert-tiny`/`bert-small`, albert-base → `albert-small`, roberta-base → `roberta-small`, distilbert-base →
  `distilbert-small`, vit-base → `vit-tiny`) with the checkpoint's depth, so every exit (and a `static-9` policy)
  still exists; random-init and small backbones stay. All become narrow (SMOKE_WIDTH).
- tasks read from local files: small files in the task's real layout (eebench.smoke.files) are written under the
  data folder and the task reads them (`source: local`); tasks with built-in data are capped. Splits of
  SPLIT_SIZE-ish samples, `val_fraction`/`test_fraction` raised so val holds enough samples for the tolerance.
- one seed, one epoch, short sequences, small batches, a coarse curve, a tolerance that a few dozen val samples can
  resolve (the paper tolerance of 0.01 needs 100 val samples, see policies.stages.degenerate_val_problem).
The result is validated like any config. Torch-free."""

from __future__ import annotations

import copy
from pathlib import Path

from .. import catalogue
from ..config import validate_config
from ..errors import ConfigError
from . import files

# Exits (layers) of each pretrained checkpoint, so the random-init stand-in keeps them.
CHECKPOINT_DEPTHS = {"minilm-l6": 6, "bert-base": 12, "roberta-base": 12, "distilbert-base": 6, "albert-base": 12,
                     "vit-base": 12}
# Random-init stand-ins of each transformer family, in order of preference.
STAND_INS = {"bert": ("bert-tiny", "bert-small"), "roberta": ("roberta-small",),
             "distilbert": ("distilbert-small",), "albert": ("albert-small",), "vit": ("vit-tiny", "vit-small")}
SMOKE_WIDTH = {"hidden_size": 16, "n_heads": 2, "intermediate_size": 32, "hidden": 16, "channels": 4}
N_TRAIN, N_TEST = 64, 24
SPLITS = {"val_fraction": 0.3, "test_fraction": 0.3}
TRAINING = {"epochs": 1, "batch_size": 16, "max_length": 24}
POLICY_FIT = {"tolerance": 0.1, "curve_points": 5}
LATENCY_BATCH_SIZES = [1, 8]


def _glue_writer(folder: str):
    return lambda root: files.write_glue(root, folder, N_TRAIN, N_TEST)


def _shift_writer(root: Path) -> None:
    files.write_glue(root, "SST-2", N_TRAIN, N_TEST)
    for name in ("imdb", "yelp", "mr"):
        files.write_review_tsv(root / f"{name}.tsv", N_TEST, seed=len(name))


def _idx_writer(root: Path) -> None:
    for prefix, n, seed in (("train", N_TRAIN, 0), ("t10k", N_TEST, 1)):
        images, labels = files.fake_images(n, (28, 28), seed)
        files.write_idx(root, prefix, images, labels, compress=prefix == "train")


# Task -> writer of its tiny local files (the task reads them with `path: FOLDER`).
DATA_WRITERS = {
    "sst2": _glue_writer("SST-2"), "cola": _glue_writer("CoLA"), "mnli": _glue_writer("MNLI"),
    "mnli-mm": _glue_writer("MNLI"), "qnli": _glue_writer("QNLI"), "rte": _glue_writer("RTE"),
    "mrpc": _glue_writer("MRPC"), "qqp": _glue_writer("QQP"), "stsb": _glue_writer("STS-B"),
    "sentiment-shift": _shift_writer, "mnist": _idx_writer, "fashion-mnist": _idx_writer,
    "cifar10": lambda root: files.write_cifar(root, 10, N_TRAIN, N_TEST),
    "cifar100": lambda root: files.write_cifar(root, 100, N_TRAIN * 2, N_TEST * 2),
}


def smoke_config(config: dict, data_dir: Path, results_dir: str, source: str = "config") -> dict:
    """The shrunk, validated copy of the validated `config`; writes its tasks' tiny files under `data_dir`."""
    smoke = copy.deepcopy(config)
    renamed = _stand_in_names(config)
    smoke["backbones"] = {renamed[name]: _shrunk_backbone(name, renamed[name], options)
                          for name, options in _all_backbones(config).items()}
    for experiment in smoke["experiments"]:
        experiment["backbones"] = [renamed[name] for name in experiment["backbones"]]
        experiment["training"] = {**experiment.get("training", {}), **TRAINING}
    smoke["tasks"] = {task: _smoke_task(task, config["tasks"].get(task, {}), Path(data_dir), source)
                      for task in dict.fromkeys(e["task"] for e in config["experiments"])}
    smoke["training"] = {**config.get("training", {}), **TRAINING}
    smoke.update(results_dir=results_dir, seeds=config["seeds"][:1], policy_fit={**config["policy_fit"], **POLICY_FIT})
    smoke["latency"] = {**config["latency"], "batch_sizes": LATENCY_BATCH_SIZES}
    return validate_config(smoke, source=f"smoke version of {source}")


def _all_backbones(config: dict) -> dict[str, dict]:
    used = dict.fromkeys(name for e in config["experiments"] for name in e["backbones"])
    return {name: config["backbones"].get(name, {}) for name in used}


def _stand_in_names(config: dict) -> dict[str, str]:
    """Each backbone's name in the smoke grid: itself unless pretrained, else a free random-init one of its family."""
    names = _all_backbones(config)
    taken = {name for name in names if _spec(name).kind != "pretrained"}
    renamed = {}
    for name in names:
        spec = _spec(name)
        if spec.kind != "pretrained":
            renamed[name] = name
            continue
        free = [candidate for candidate in STAND_INS.get(spec.family, ()) if candidate not in taken]
        if not free or name not in CHECKPOINT_DEPTHS:
            raise ConfigError(f"smoke mode: backbone {name!r} (family {spec.family!r}) has no random-init stand-in "
                              f"left; add one to eebench.smoke.STAND_INS and its depth to CHECKPOINT_DEPTHS")
        renamed[name] = free[0]
        taken.add(free[0])
    return renamed


def _spec(name: str):
    return catalogue.get("backbone", name).target


def _shrunk_backbone(name: str, stand_in_name: str, options: dict) -> dict:
    """The options that the stand-in shares with the configured backbone (pooling, exit heads), narrowed."""
    spec, stand_in = _spec(name), _spec(stand_in_name)
    kept = {key: value for key, value in options.items() if key in stand_in.options}
    size = {key: value for key, value in SMOKE_WIDTH.items() if key in stand_in.options}
    if spec.kind == "pretrained":
        size["n_layers"] = CHECKPOINT_DEPTHS[name]
    return {**kept, **size}


def _smoke_task(task: str, options: dict, data_dir: Path, source: str) -> dict:
    declared = catalogue.get("task", task).options
    smoke = {**options, **{key: value for key, value in SPLITS.items() if key in declared}}
    for cap in ("max_train", "max_val", "max_test"):
        smoke.pop(cap, None)
    if "path" in declared:
        if task not in DATA_WRITERS:
            raise ConfigError(f"'{source}', field 'tasks.{task}': smoke mode has no tiny files for task {task!r}; "
                              f"add a writer to eebench.smoke.DATA_WRITERS")
        folder = (data_dir / task).resolve()
        DATA_WRITERS[task](folder)
        smoke["path"] = str(folder)
        if "local" in declared.get("source", catalogue.Option("text", "")).choices:
            smoke["source"] = "local"  # hub or local files (GLUE, images); sentiment-shift's `source` is a domain
    elif "max_train" in declared:
        smoke.update(max_train=N_TRAIN, max_test=N_TEST)
    return smoke
