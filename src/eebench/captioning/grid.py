"""The captioning grid (`config/captioning.yaml`, `config/paper/beem-coco.yaml`): validation and its runs.

Keys: `results_dir`, `seeds`, `experiments` (task, backbones, strategies, optional `training`), `tasks`,
`backbones`, `strategies` (name -> options), `training` (defaults), `policies` (name -> options, `method` = the
policy id, default the name), `policy_fit` (`tolerance` in CIDEr-D, `curve_points`), `latency` (`policies`,
`max_images`), `predict` (`batch_size`), `metrics` (`meteor`). Options are declared in `captioning.options`; every error is one line
naming the file, the field, the value and what is allowed."""

from __future__ import annotations

import copy

from .. import catalogue
from ..catalogue import check_options, check_value, number_list, path
from ..config import FieldError, Run, checked_at
from ..errors import ConfigError
from .options import (FIT, LATENCY, METRICS, PREDICT, backbone_options, check_combination, policy_options,
                      strategy_options, task_options, training_options)

TOP_KEYS = {"results_dir", "seeds", "experiments", "tasks", "backbones", "strategies", "training", "policies",
            "policy_fit", "latency", "predict", "metrics"}
EXPERIMENT_KEYS = {"task", "backbones", "strategies", "training"}
RESULTS_DIR = path("folder that receives the captioning outputs", default="results/captioning")
SEEDS = number_list("seeds, one trained model each", integers=True, minimum=0)


def validate(config: dict, source: str = "config") -> dict:
    """`config` checked, as a copy with every section's defaults filled in; ConfigError on the first problem."""
    try:
        return _validated(config)
    except FieldError as error:
        raise error.in_file(source) from None


def _mapping(config: dict, key: str) -> dict:
    value = config.get(key) or {}
    if not isinstance(value, dict):
        raise FieldError(key, f"expected a mapping, got {value!r}")
    return value


def _validated(config: dict) -> dict:
    if not isinstance(config, dict):
        raise FieldError("(top level)", f"expected a mapping of keys to values, got {config!r}")
    unknown = sorted(set(config) - TOP_KEYS, key=str)
    if unknown:
        raise FieldError(str(unknown[0]), f"unknown key; allowed keys: {', '.join(sorted(TOP_KEYS))}")
    result = copy.deepcopy(config)
    result["results_dir"] = checked_at("results_dir", check_value, RESULTS_DIR,
                                     config.get("results_dir", RESULTS_DIR.default), "results_dir")
    result["seeds"] = checked_at("seeds", check_value, SEEDS, config.get("seeds"), "seeds")
    experiments = config.get("experiments")
    if not isinstance(experiments, list) or not experiments:
        raise FieldError("experiments", f"expected a non-empty list of experiments, got {experiments!r}")
    tasks, backbones, strategies = (_mapping(config, key) for key in ("tasks", "backbones", "strategies"))
    checked_at("training", training_options, _mapping(config, "training"))
    for index, experiment in enumerate(experiments):
        where = f"experiments[{index}]"
        if not isinstance(experiment, dict) or set(experiment) - EXPERIMENT_KEYS or "task" not in experiment:
            raise FieldError(where, f"expected a mapping with 'task', 'backbones', 'strategies' and optionally "
                                     f"'training', got {experiment!r}")
        checked_at(f"tasks.{experiment['task']}", task_options, experiment["task"], tasks.get(experiment["task"]))
        for key, check, options in (("backbones", backbone_options, backbones),
                                    ("strategies", strategy_options, strategies)):
            names = experiment.get(key)
            if not isinstance(names, list) or not names:
                raise FieldError(f"{where}.{key}", f"expected a non-empty list of names, got {names!r}")
            for name in names:
                checked_at(f"{key}.{name}", check, name, options.get(name))
        for backbone in experiment["backbones"]:
            for strategy in experiment["strategies"]:
                checked_at(f"{where}.strategies", check_combination, backbone,
                         backbone_options(backbone, backbones.get(backbone)), strategy)
        checked_at(f"{where}.training", training_options, {**_mapping(config, "training"),
                                                          **(experiment.get("training") or {})})
    policies = _mapping(config, "policies")
    if not policies:
        raise FieldError("policies", "expected a non-empty mapping of policy names to their options")
    for name, options in policies.items():
        field = f"policies.{name}" + (".method" if "method" in (options or {}) else "")
        checked_at(field, catalogue.get, "captioning-policy", (options or {}).get("method", name))
        checked_at(f"policies.{name}", policy_options, name, options)
    result["policy_fit"] = checked_at("policy_fit", check_options, FIT, config.get("policy_fit"), "policy_fit")
    latency = dict(_mapping(config, "latency"))
    latency_policies = latency.pop("policies", []) or []
    missing = [name for name in latency_policies if name not in policies]
    if missing:
        raise FieldError("latency.policies", f"{missing[0]!r} is not a configured policy; valid: {', '.join(policies)}")
    result["latency"] = {"policies": latency_policies, **checked_at("latency", check_options, LATENCY, latency, "latency")}
    result["predict"] = checked_at("predict", check_options, PREDICT, config.get("predict"), "predict")
    result["metrics"] = checked_at("metrics", check_options, METRICS, config.get("metrics"), "metrics")
    return result


def runs(config: dict) -> list[Run]:
    return [Run(e["task"], backbone, strategy, int(seed)) for e in config["experiments"] for backbone in e["backbones"]
            for strategy in e["strategies"] for seed in config["seeds"]]


def experiment_training(config: dict, task: str, backbone: str, strategy: str) -> dict:
    for experiment in config["experiments"]:
        if experiment["task"] == task and backbone in experiment["backbones"] and strategy in experiment["strategies"]:
            return {**(config.get("training") or {}), **(experiment.get("training") or {})}
    raise ConfigError(f"no experiment trains {task}/{backbone}/{strategy}")
