"""Smoke mode: any grid (a `config/paper/*.yaml`) shrunk so that its whole DAG runs in CPU minutes, keeping every
task, strategy and policy, so a typo or a broken combination in a paper grid fails the smoke run.

`smoke_config` returns the shrunk config and writes its data:
- backbones: one that downloads weights becomes a randomly initialised one of the same kind of model and family
  with the checkpoint's depth, so every exit (and a `static-9` policy) still exists: a pretrained transformer
  (bert-base and minilm-l6 → `bert-tiny`/`bert-small`, albert-base → `albert-small`, roberta-base →
  `roberta-small`, distilbert-base → `distilbert-small`, vit-base → `vit-tiny`) gets the checkpoint's layers; a hub
  captioner (`vit-gpt2` → `caption-small`, `swin-gpt2` → `caption-small-swin`) gets its decoder's layers (GPT-2:
  12 exits) and a word vocabulary from the training captions instead of GPT-2's BPE (which would need a
  download). A variant (`cnn-large: {backbone: cnn, …}`) keeps its name; one of a downloading backbone builds the
  stand-in. Random-init and small backbones stay. All become narrow (SMOKE_WIDTH), captioners with short captions
  and small images.
- tasks read from local files: small files in the task's real layout (eebench.smoke.files: GLUE TSVs, IDX and
  CIFAR batches, COCO's Karpathy `dataset_coco.json` with small JPEGs) are written under the data folder and the
  task reads them (`source: local`); tasks with built-in data (rendered shapes captions, say) are capped. Splits
  of N_TRAIN/N_TEST-ish samples, `val_fraction`/`test_fraction` raised so val holds enough samples for the
  tolerance.
- one seed, one epoch (every phase of a multi-phase strategy too: `heads-only`'s `backbone_epochs` and
  `head_epochs`, `branchynet`'s `trunk_epochs`; caption runs at a higher learning rate, MODALITY_TRAINING), short
  sequences, small batches, a coarse curve, a tolerance that a few dozen val samples can resolve (the paper tolerance of 0.01 needs 100 val samples, see
  policies.stages.degenerate_val_problem).
- no METEOR on caption tasks (`meteor: false`, reported as null with the reason): its Java process takes seconds
  to start in every policy cell of the grid, most of a captioning smoke run's time; the captioning metric tests
  score it.
The result is validated like any config. Torch-free."""

from __future__ import annotations

import copy
from pathlib import Path

from .. import catalogue
from ..config import VARIANT_KEY, validate_config
from ..errors import ConfigError
from ..models.backbones import captioners
from . import files
from ..captioning.data import MODALITY as CAPTION_MODALITY

# Layers (= exits) of each hub checkpoint, so the random-init stand-in keeps them: a pretrained backbone's by its
# name, a hub captioner's by its decoder (option `decoder`).
CHECKPOINT_DEPTHS = {"minilm-l6": 6, "bert-base": 12, "roberta-base": 12, "distilbert-base": 6, "albert-base": 12,
                     "vit-base": 12, "gpt2": 12, "distilgpt2": 6, "gpt2-medium": 24}
# Random-init stand-ins of each kind and family of backbones that download weights, in order of preference, and the
# stand-in's option that takes the checkpoint's depth.
STAND_INS = {
    "pretrained": {"bert": ("bert-tiny", "bert-small"), "roberta": ("roberta-small",),
                   "distilbert": ("distilbert-small",), "albert": ("albert-small",), "vit": ("vit-tiny", "vit-small")},
    "captioner": {"vit": ("caption-small",), "swin": ("caption-small-swin",)},
}
DEPTH_OPTIONS = {"pretrained": "n_layers", "captioner": "decoder_layers"}
# Set wherever the (stand-in) backbone declares them: transformers, small nets, then captioners.
SMOKE_WIDTH = {"hidden_size": 16, "n_heads": 2, "intermediate_size": 32, "hidden": 16, "channels": 4,
               "heads": 2, "encoder_layers": 1, "image_size": 16, "max_length": 12}
N_TRAIN, N_VAL, N_TEST = 64, 20, 24
# Set wherever a task declares them (split fractions, METEOR: see above).
TASK_OPTIONS = {"val_fraction": 0.3, "test_fraction": 0.3, "meteor": False}
# Sizes of built-in data, set wherever a task without local files declares them (shapes-captions: images rendered
# at the captioners' smoke image size).
BUILT_IN_SIZES = {"max_train": N_TRAIN, "max_test": N_TEST, "train_size": N_TRAIN, "val_size": N_VAL,
                  "test_size": N_TEST, "image_size": 16}
TRAINING = {"epochs": 1, "batch_size": 16, "max_length": 24}
# A caption run's exits are the tokens its full model generates, so its one epoch must teach the smoke captioner
# more than end-of-caption: at the grid's learning rate (1e-4) it said only that, one token per image, and the
# run exercised no decoding past the first token and no exit decision within a caption. By the task's modality;
# measured on the coco-captions files below with beem-coco's other training options: batch 8 at lr 0.01 gave 4-11
# tokens per val caption on average and 5-9 distinct tokens for seeds 0-5 and both of its strategies (batch 16 at
# lr 0.01 gave end-of-caption only for seed 0 of joint-kl, at lr 0.03 two distinct tokens for three seeds).
MODALITY_TRAINING = {CAPTION_MODALITY: {"lr": 0.01, "batch_size": 8}}
PHASE_EPOCHS = "_epochs"  # strategy options ending so set a phase's length: one epoch each
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
    # images of the Karpathy splits (restval joins train), five references each
    "coco-captions": lambda root: files.write_coco_karpathy(root, {"train": N_TRAIN - 16, "restval": 16, "val": 6,
                                                                  "test": 6}),
}


def smoke_config(config: dict, data_dir: Path, results_dir: str, source: str = "config") -> dict:
    """The shrunk, validated copy of the validated `config`; writes its tasks' tiny files under `data_dir`."""
    smoke = copy.deepcopy(config)
    stand_ins = _stand_ins(config, source)
    smoke["backbones"] = {stand_ins[name][0]: _shrunk_backbone(name, options, stand_ins[name][1], source)
                          for name, options in _all_backbones(config).items()}
    for experiment in smoke["experiments"]:
        experiment["backbones"] = [stand_ins[name][0] for name in experiment["backbones"]]
        modality = catalogue.get("task", experiment["task"]).facts["modality"]
        experiment["training"] = {**experiment.get("training", {}), **TRAINING, **MODALITY_TRAINING.get(modality, {})}
    smoke["strategies"] = {name: {key: 1 if key.endswith(PHASE_EPOCHS) and value is not None else value
                                  for key, value in (options or {}).items()}
                           for name, options in config["strategies"].items()}
    smoke["tasks"] = {task: _smoke_task(task, config["tasks"].get(task, {}), Path(data_dir), source)
                      for task in dict.fromkeys(e["task"] for e in config["experiments"])}
    smoke["training"] = {**config.get("training", {}), **TRAINING}
    smoke.update(results_dir=results_dir, seeds=config["seeds"][:1], policy_fit={**config["policy_fit"], **POLICY_FIT})
    smoke["latency"] = {**config["latency"], "batch_sizes": LATENCY_BATCH_SIZES}
    return validate_config(smoke, source=f"smoke version of {source}")


def _all_backbones(config: dict) -> dict[str, dict]:
    """The grid's backbones (catalogue names and variants) with their configured options."""
    used = dict.fromkeys(name for e in config["experiments"] for name in e["backbones"])
    return {name: config["backbones"].get(name) or {} for name in used}


def _spec(name: str):
    return catalogue.get("backbone", name).target


def _downloads(name: str) -> bool:
    """Whether a catalogue backbone loads hub weights: a pretrained transformer, or a captioner with a hub encoder."""
    spec = _spec(name)
    return spec.kind == "pretrained" or (spec.kind == "captioner" and captioners.downloads(spec.options))


def _stand_ins(config: dict, source: str) -> dict[str, tuple[str, str]]:
    """Each backbone's name in the smoke grid and the catalogue backbone it builds there: itself, unless that
    downloads weights; then a catalogue name becomes a free random-init stand-in of its kind and family (two of a
    family stay two runs), and a variant (`backbone: bert-base`) keeps its name and builds the first stand-in."""
    backbones = _all_backbones(config)
    taken = {name for name, options in backbones.items() if VARIANT_KEY not in options and not _downloads(name)}
    stand_ins = {}
    for name, options in backbones.items():
        built = options.get(VARIANT_KEY, name)
        if not _downloads(built):
            stand_ins[name] = (name, built)
            continue
        spec = _spec(built)
        free = [candidate for candidate in STAND_INS.get(spec.kind, {}).get(spec.family, ())
                if VARIANT_KEY in options or candidate not in taken]
        if not free:
            raise ConfigError(f"'{source}', field 'experiments': smoke mode: backbone {name!r} ({spec.kind}, family "
                              f"{spec.family!r}) has no random-init stand-in left; add one to "
                              f"eebench.smoke.STAND_INS")
        if VARIANT_KEY in options:
            stand_ins[name] = (name, free[0])
        else:
            stand_ins[name] = (free[0], free[0])
            taken.add(free[0])
    return stand_ins


def _shrunk_backbone(name: str, options: dict, stand_in_name: str, source: str) -> dict:
    """The options that the stand-in shares with the configured backbone (pooling, exit heads, a variant's depth),
    narrowed; a stand-in gets the depth of the checkpoint it replaces, a variant the stand-in as its `backbone`."""
    params = {key: value for key, value in options.items() if key != VARIANT_KEY}
    built = options.get(VARIANT_KEY, name)
    spec, stand_in = _spec(built), _spec(stand_in_name)
    kept = {key: value for key, value in params.items() if key in stand_in.options}
    size = {key: value for key, value in SMOKE_WIDTH.items() if key in stand_in.options}
    if stand_in_name != built:
        checkpoint = catalogue.get("backbone", built).check(params)["decoder"] if spec.kind == "captioner" else built
        if checkpoint not in CHECKPOINT_DEPTHS:
            raise ConfigError(f"'{source}', field 'backbones.{name}': smoke mode does not know the depth of "
                              f"{checkpoint!r}; add it to eebench.smoke.CHECKPOINT_DEPTHS "
                              f"(known: {', '.join(CHECKPOINT_DEPTHS)})")
        size[DEPTH_OPTIONS[spec.kind]] = CHECKPOINT_DEPTHS[checkpoint]
    variant = {VARIANT_KEY: stand_in_name} if VARIANT_KEY in options else {}
    return {**variant, **kept, **size}


def _smoke_task(task: str, options: dict, data_dir: Path, source: str) -> dict:
    declared = catalogue.get("task", task).options
    smoke = {**(options or {}), **{key: value for key, value in TASK_OPTIONS.items() if key in declared}}
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
            smoke["source"] = "local"  # hub or local files (GLUE, images, COCO); sentiment-shift's `source` is a domain
    else:
        smoke.update({key: value for key, value in BUILT_IN_SIZES.items() if key in declared})
    return smoke
