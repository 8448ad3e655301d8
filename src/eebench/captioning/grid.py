"""The captioning grid (`config/captioning.yaml`, `config/paper/beem-coco.yaml`): validation and its runs.

Keys: `results_dir`, `seeds`, `experiments` (task, backbones, strategies, optional `training`), `tasks`,
`backbones`, `strategies` (name -> options), `training` (defaults), `policies` (name -> options, `method` = the
policy id, default the name), `policy_fit` (`tolerance` in CIDEr-D, `curve_points`), `latency` (`policies`,
`max_images`), `predict` (`batch_size`). Options are declared in `captioning.options`; every error is one line
naming the file, the field, the value and what is allowed."""

from __future__ import annotations

import copy

from ..catalogue import check_options, check_value, number_list, path
from ..config import Run, _checked, _FieldError  # the main config's field-error reporting
from ..errors import ConfigError
from ..policies import make_policy
from .options import (FIT, LATENCY, PREDICT, backbone_options, check_combination, strategy_options, task_options,
                      training_options)

TOP_KEYS = {"results_dir", "seeds", "experiments", "tasks", "backbones", "strategies", "training", "policies",
            "policy_fit", "latency", "predict"}
EXPERIMENT_KEYS = {"task", "backbones", "strategies", "training"}
RESULTS_DIR = path("folder that receives the captioning outputs", default="results/captioning")
SEEDS = number_list("seeds, one trained model each", integers=True, minimum=0)


def validate(config: dict, source: str = "config") -> dict:
    """`config` checked, as a copy with every section's defaults filled in; ConfigError on the first problem."""
    try:
        return _validated(config)
    except _FieldError as error:
        raise ConfigError(f"'{source}', field '{error.field}': {error.message}") from None


def _mapping(config: dict, key: str) -> dict:
    value = config.get(key) or {}
    if not isinstance(value, dict):
        raise _FieldError(key, f"expected a mapping, got {value!r}")
    return value


def _validated(config: dict) -> dict:
    if not isinstance(config, dict):
        raise _FieldError("(top level)", f"expected a mapping of keys to values, got {config!r}")
    unknown = sorted(set(config) - TOP_KEYS, key=str)
    if unknown:
        raise _FieldError(str(unknown[0]), f"unknown key; allowed keys: {', '.join(sorted(TOP_KEYS))}")
    result = copy.deepcopy(config)
    result["results_dir"] = _checked("results_dir", check_value, RESULTS_DIR,
                                     config.get("results_dir", RESULTS_DIR.default), "results_dir")
    result["seeds"] = _checked("seeds", check_value, SEEDS, config.get("seeds"), "seeds")
    experiments = config.get("experiments")
    if not isinstance(experiments, list) or not experiments:
        raise _FieldError("experiments", f"expected a non-empty list of experiments, got {experiments!r}")
    tasks, backbones, strategies = (_mapping(config, key) for key in ("tasks", "backbones", "strategies"))
    _checked("training", training_options, _mapping(config, "training"))
    for index, experiment in enumerate(experiments):
        where = f"experiments[{index}]"
        if not isinstance(experiment, dict) or set(experiment) - EXPERIMENT_KEYS or "task" not in experiment:
            raise _FieldError(where, f"expected a mapping with 'task', 'backbones', 'strategies' and optionally "
                                     f"'training', got {experiment!r}")
        _checked(f"tasks.{experiment['task']}", task_options, experiment["task"], tasks.get(experiment["task"]))
        for key, check, options in (("backbones", backbone_options, backbones),
                                    ("strategies", strategy_options, strategies)):
            names = experiment.get(key)
            if not isinstance(names, list) or not names:
                raise _FieldError(f"{where}.{key}", f"expected a non-empty list of names, got {names!r}")
            for name in names:
                _checked(f"{key}.{name}", check, name, options.get(name))
        for backbone in experiment["backbones"]:
            for strategy in experiment["strategies"]:
                _checked(f"{where}.strategies", check_combination, backbone,
                         backbone_options(backbone, backbones.get(backbone)), strategy)
        _checked(f"{where}.training", training_options, {**_mapping(config, "training"),
                                                          **(experiment.get("training") or {})})
    policies = _mapping(config, "policies")
    if not policies:
        raise _FieldError("policies", "expected a non-empty mapping of policy names to their options")
    for name, options in policies.items():
        options = options or {}
        _checked(f"policies.{name}", lambda: make_policy(options.get("method", name),
                                                           **{k: v for k, v in options.items() if k != "method"}))
    result["policy_fit"] = _checked("policy_fit", check_options, FIT, config.get("policy_fit"), "policy_fit")
    latency = dict(_mapping(config, "latency"))
    latency_policies = latency.pop("policies", []) or []
    missing = [name for name in latency_policies if name not in policies]
    if missing:
        raise _FieldError("latency.policies", f"{missing[0]!r} is not a configured policy; valid: {', '.join(policies)}")
    result["latency"] = {"policies": latency_policies, **_checked("latency", check_options, LATENCY, latency, "latency")}
    result["predict"] = _checked("predict", check_options, PREDICT, config.get("predict"), "predict")
    return result


def runs(config: dict) -> list[Run]:
    return [Run(e["task"], backbone, strategy, int(seed)) for e in config["experiments"] for backbone in e["backbones"]
            for strategy in e["strategies"] for seed in config["seeds"]]


def experiment_training(config: dict, task: str, backbone: str, strategy: str) -> dict:
    for experiment in config["experiments"]:
        if experiment["task"] == task and backbone in experiment["backbones"] and strategy in experiment["strategies"]:
            return {**(config.get("training") or {}), **(experiment.get("training") or {})}
    raise ConfigError(f"no experiment trains {task}/{backbone}/{strategy}")
