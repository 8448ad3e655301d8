"""Smoke mode for the captioning grid (`config/paper/beem-coco.yaml`, `config/captioning.yaml`): the same tasks,
strategies, policies and exits, in CPU seconds per job.

- backbones: a hub captioner (`vit-gpt2`, `swin-gpt2`) becomes the random-init captioner of its encoder family
  (`caption-small`: ViT, `caption-small-swin`: Swin) with the hub decoder's depth (GPT-2: 12 layers), so every
  exit exists; narrow (SMOKE_WIDTH), short captions, and a word vocabulary from the training captions instead of
  GPT-2's BPE (which would need a download). Small backbones stay, narrowed.
- tasks: `coco-captions` reads a tiny COCO folder in the Karpathy layout (`eebench.smoke.files.write_coco_karpathy`:
  `dataset_coco.json` + small JPEGs in `train2014/`, `val2014/`) with `source: local`; `shapes-captions` renders
  a few scenes.
- one seed, one epoch (each phase of `heads-only` too), a coarse curve, a few latency images.
- no METEOR (`metrics.meteor: false`, reported as null with the reason): its Java process takes seconds to start
  in each of the grid's evaluate jobs, most of a smoke run's time; the tiny grid's end-to-end test and the metrics
  test score it. Torch-free."""

from __future__ import annotations

import copy
from pathlib import Path

from .. import catalogue
from ..captioning import grid
from ..errors import ConfigError
from . import files

# Random-init stand-in of each encoder family, and the decoder depth of each hub decoder (= its exits).
STAND_INS = {"vit": "caption-small", "swin": "caption-small-swin"}
DECODER_DEPTHS = {"gpt2": 12, "distilgpt2": 6, "gpt2-medium": 24}
SMOKE_WIDTH = {"hidden_size": 16, "heads": 2, "encoder_layers": 1, "image_size": 16, "max_length": 12}
COCO_SIZES = {"train": 8, "restval": 4, "val": 6, "test": 6}
SHAPES_SIZES = {"train_size": 12, "val_size": 6, "test_size": 6, "image_size": 16}
TRAINING = {"epochs": 1, "batch_size": 16}
PHASE_EPOCHS = ("backbone_epochs", "head_epochs")  # heads-only's phases: one epoch each
POLICY_FIT = {"tolerance": 0.1, "curve_points": 5}
LATENCY_IMAGES = 2
PREDICT_BATCH = 8


def is_captioning_config(config) -> bool:
    """Whether a config's experiments train captioning tasks (workflow/captioning.smk runs them)."""
    tasks = catalogue.components("captioning-task")
    experiments = config.get("experiments") if isinstance(config, dict) else None
    return isinstance(experiments, list) and bool(experiments) and all(
        isinstance(e, dict) and e.get("task") in tasks for e in experiments)


def smoke_captioning_config(config: dict, data_dir: Path, results_dir: str, source: str = "config") -> dict:
    """The shrunk, validated copy of the validated captioning `config`; writes its tasks' tiny files under
    `data_dir`."""
    smoke = copy.deepcopy(config)
    renamed = _stand_in_names(config, source)
    smoke["backbones"] = {renamed[name]: _shrunk_backbone(name, renamed[name], config["backbones"].get(name) or {},
                                                          source)
                          for name in _used_backbones(config)}
    for experiment in smoke["experiments"]:
        experiment["backbones"] = [renamed[name] for name in experiment["backbones"]]
        if experiment.get("training"):
            experiment["training"] = {**experiment["training"], **TRAINING}
    smoke["strategies"] = {name: {**(options or {}), **{key: 1 for key in PHASE_EPOCHS if key in (options or {})}}
                           for name, options in config["strategies"].items()}
    smoke["tasks"] = {task: _smoke_task(task, config["tasks"].get(task) or {}, Path(data_dir))
                      for task in dict.fromkeys(e["task"] for e in config["experiments"])}
    smoke["training"] = {**config.get("training", {}), **TRAINING}
    smoke.update(results_dir=results_dir, seeds=config["seeds"][:1], policy_fit={**config["policy_fit"], **POLICY_FIT},
                 latency={**config["latency"], "max_images": LATENCY_IMAGES}, predict={"batch_size": PREDICT_BATCH},
                 metrics={**config["metrics"], "meteor": False})
    return grid.validate(smoke, source=f"smoke version of {source}")


def _used_backbones(config: dict) -> list[str]:
    return list(dict.fromkeys(name for e in config["experiments"] for name in e["backbones"]))


def _stand_in_names(config: dict, source: str) -> dict[str, str]:
    """Each backbone's name in the smoke grid: itself unless it downloads weights, else its family's stand-in."""
    names = _used_backbones(config)
    spec = {name: catalogue.get("captioning-backbone", name).facts for name in names}
    taken = {name for name in names if not spec[name]["downloads"]}
    renamed = {}
    for name in names:
        stand_in = STAND_INS[spec[name]["family"]] if spec[name]["downloads"] else name
        if stand_in in taken and stand_in != name:
            raise ConfigError(f"'{source}', field 'experiments': smoke mode: backbone {name!r} needs stand-in "
                              f"{stand_in!r}, which the grid already uses; add another to "
                              f"eebench.smoke.captioning.STAND_INS")
        renamed[name] = stand_in
        taken.add(stand_in)
    return renamed


def _shrunk_backbone(name: str, stand_in: str, options: dict, source: str) -> dict:
    declared = catalogue.get("captioning-backbone", stand_in).options
    shrunk = {key: value for key, value in options.items() if key in declared}  # exit_heads, say
    shrunk.update(SMOKE_WIDTH)
    if stand_in != name:
        decoder = options.get("decoder", catalogue.get("captioning-backbone", name).options["decoder"].default)
        if decoder not in DECODER_DEPTHS:
            raise ConfigError(f"'{source}', field 'backbones.{name}.decoder': smoke mode does not know the depth of "
                              f"decoder {decoder!r}; add it to eebench.smoke.captioning.DECODER_DEPTHS "
                              f"(known: {', '.join(DECODER_DEPTHS)})")
        shrunk["decoder_layers"] = DECODER_DEPTHS[decoder]
    return shrunk


def _smoke_task(task: str, options: dict, data_dir: Path) -> dict:
    if task == "coco-captions":
        folder = (data_dir / task).resolve()
        files.write_coco_karpathy(folder, COCO_SIZES)
        kept = {key: value for key, value in options.items() if not key.startswith("max_")}
        return {**kept, "source": "local", "path": str(folder)}
    return {**options, **SHAPES_SIZES}
