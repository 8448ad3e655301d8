"""The captioning grid (`config/captioning.yaml`, `config/paper/beem-coco.yaml`): validation and its runs.

Keys: `results_dir`, `seeds`, `experiments` (task, backbones, strategies, optional `training`), `tasks`,
`backbones`, `strategies` (name -> options), `training` (defaults), `policies` (name -> options, `method` = the
policy id, default the name), `policy_fit` (`tolerance` in CIDEr-D, `curve_points`), `latency` (`policies`,
`max_images`), `predict` (`batch_size`). Every error names the key and what is allowed."""

from __future__ import annotations

from ..config import Run
from ..errors import ConfigError
from ..policies import make_policy
from . import data
from .options import backbone_options, strategy_options, training_options

TOP_KEYS = {"results_dir", "seeds", "experiments", "tasks", "backbones", "strategies", "training", "policies",
            "policy_fit", "latency", "predict"}


def validate(config: dict, source: str = "config") -> dict:
    unknown = sorted(set(config) - TOP_KEYS)
    if unknown:
        raise ConfigError(f"{source}: unknown key {unknown[0]!r}; allowed: {', '.join(sorted(TOP_KEYS))}")
    for key in ("experiments", "seeds", "policies"):
        if not config.get(key):
            raise ConfigError(f"{source}: key {key!r} is required and must not be empty")
    for index, experiment in enumerate(config["experiments"]):
        where = f"{source}, experiments[{index}]"
        task = experiment.get("task")
        data.task_options(task, config.get("tasks", {}).get(task))
        for backbone in experiment.get("backbones", []):
            backbone_options(backbone, config.get("backbones", {}).get(backbone))
        for strategy in experiment.get("strategies", []):
            strategy_options(strategy, config.get("strategies", {}).get(strategy))
        if not experiment.get("backbones") or not experiment.get("strategies"):
            raise ConfigError(f"{where}: 'backbones' and 'strategies' must list at least one name")
        training_options({**config.get("training", {}), **experiment.get("training", {})}, where)
    for name, options in config["policies"].items():
        options = options or {}
        make_policy(options.get("method", name), **{k: v for k, v in options.items() if k != "method"})
    for name in config.get("latency", {}).get("policies", []):
        if name not in config["policies"]:
            raise ConfigError(f"{source}, latency.policies: {name!r} is not in 'policies' ({', '.join(config['policies'])})")
    return config


def runs(config: dict) -> list[Run]:
    return [Run(e["task"], backbone, strategy, int(seed)) for e in config["experiments"] for backbone in e["backbones"]
            for strategy in e["strategies"] for seed in config["seeds"]]


def experiment_training(config: dict, task: str, backbone: str, strategy: str) -> dict:
    for experiment in config["experiments"]:
        if experiment["task"] == task and backbone in experiment["backbones"] and strategy in experiment["strategies"]:
            return {**config.get("training", {}), **experiment.get("training", {})}
    raise ConfigError(f"no experiment trains {task}/{backbone}/{strategy}")
