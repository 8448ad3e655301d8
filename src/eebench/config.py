"""Load and validate a configuration, and expand it into the grid of runs and policy cells.

The JSON schema (config.schema.yaml, package data) fixes the structure; every name and option is checked
against the catalogue (`eebench.catalogue`): tasks, backbones, strategies and policies with their options, and the
config's own sections (training, policy_fit, latency, results_dir). Each mistake is one message naming the
file, the field, the value and what is allowed. Torch-free, so Snakemake checks the whole config in milliseconds
when it starts."""

from __future__ import annotations

import copy
import functools
import json
import os
import re
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Sequence

import yaml

from . import catalogue, layout
from .catalogue import OptionError, check_options, check_value, integer, number_list, path
from .errors import ConfigError
from .io import file_problem, one_line
from .metrics.task_metrics import SEQUENCE_METRICS

SCHEMA_RESOURCE = "config.schema.yaml"
RESULTS_DIR = path("folder that receives every output", default="results")
BATCH_SIZES = number_list("batch sizes of the real early-exit timing", default=[1, 32], integers=True, minimum=1)
LATENCY_SAMPLES = integer("test samples timed (the first ones of the split)", default=200)
LATENCY_PASSES = integer("timed passes over them; latency.json gives the min and median pass", default=5)
# Component sections of the config: section -> catalogue kind.
SECTIONS = {"tasks": "task", "backbones": "backbone", "strategies": "strategy"}
# `backbones: {cnn-large: {backbone: cnn, channels: 32}}`: several configurations of one catalogue backbone in one
# grid, each a name of its own (its runs' folder), as `method` lets policies share an id.
VARIANT_KEY = "backbone"
VARIANT_NAME = re.compile(r"[a-z0-9][a-z0-9.-]*")
# Snakemake renders a YAML config whose top level sets `__use_yte__: true` as a YTE template, running the Python
# inside it: such a file is code. Refused unless this environment variable is 1 (the opt-in must not be in the file).
YTE_KEY = "__use_yte__"
ALLOW_YTE = "EEBENCH_ALLOW_YTE"
# Task options that fix (val_size) or cap (max_val) the val split's size, so the config alone can tell that the val
# split is too small for the tolerance; otherwise only the data can (`prepare_task(..., tolerance=)`).
VAL_SIZE_OPTIONS = ("val_size", "max_val")
# A seed seeds NumPy's legacy generator, whose range this is (torch's is wider); the CLI's --seed reads it too.
MAX_SEED = 2**32 - 1
# The longest file name (one path component, in bytes) of Linux and macOS file systems: a policy name is a folder.
NAME_MAX = 255


@dataclass(frozen=True)
class Run:
    """One trained model: a cell of task × backbone × strategy × seed."""

    task: str
    backbone: str
    strategy: str
    seed: int

    @property
    def path(self) -> str:
        """The run's folder relative to `results_dir/runs`."""
        return layout.RUN.format(**asdict(self)).removeprefix("runs/")


def load_schema() -> dict:
    return yaml.safe_load(resources.files("eebench").joinpath(SCHEMA_RESOURCE).read_text())


@functools.cache
def _schema_validator():
    import jsonschema

    return jsonschema.Draft202012Validator(load_schema())


def load_config(path: str | Path) -> dict:
    """Read a YAML config file and return it validated, with defaults filled in. A YTE template (`__use_yte__: true`)
    is refused, or rendered as Snakemake renders it when EEBENCH_ALLOW_YTE=1."""
    p = Path(path)
    problem = file_problem(p)
    if problem:
        raise ConfigError(f"'{p}': config {problem}")
    config = read_yaml_strict(p)
    if templating_allowed(config, p):
        import yte

        with open(p, encoding="utf-8") as fh:
            config = yte.process_yaml(fh, require_use_yte=True)
    return validate_config(config, source=str(p))


def templating_allowed(config: Any, path: str | Path) -> bool:
    """Whether the config file `path` (parsed as `config`) is a YTE template that may run: False for a plain config;
    True with the opt-in; without it a ConfigError, because Snakemake would run the Python inside it."""
    if not (isinstance(config, dict) and config.get(YTE_KEY)):
        return False
    if os.environ.get(ALLOW_YTE) == "1":
        return True
    raise ConfigError(f"'{path}', field '{YTE_KEY}': Snakemake YTE templating runs the Python inside a config file, "
                      f"so it is off; set the environment variable {ALLOW_YTE}=1 to allow it for files you trust")


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects a key given twice in one mapping (YAML itself keeps the last, silently)."""

    def construct_mapping(self, node, deep=False):
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise ConfigError(
                    f"'{self.name}', line {line}, key {key!r}: given twice (first at line {seen[key]}); keep one"
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def read_yaml_strict(path: str | Path) -> Any:
    """Parse a YAML config file; invalid YAML and duplicated keys are one ConfigError naming the file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"'{p}': not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    loader = _StrictLoader(text)
    loader.name = str(p)
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        raise ConfigError(f"'{p}': not valid YAML ({' '.join(str(exc).split())})") from None
    except RecursionError:
        raise too_deep(p) from None
    finally:
        loader.dispose()


def too_deep(source: str | Path) -> ConfigError:
    return ConfigError(f"'{source}': nested too deeply to read (lists or mappings inside each other too many "
                       "levels deep; an eebench config needs a handful)")


def validate_config(config: Any, source: str = "config", files: Sequence[str | Path] = ()) -> dict:
    """Validate `config` against the schema's structure and the catalogue; return a copy with defaults. `files`
    are the YAML files it was read from (Snakemake's configfiles): re-read strictly, so a duplicated key is an
    error, and a YTE template without the opt-in is refused (Snakemake has rendered a --configfile before the
    Snakefile runs, so this stops the run, not the template's code; workflow/Snakefile checks the default config
    file before Snakemake reads it)."""
    for file in files:
        templating_allowed(read_yaml_strict(file), file)
    if not isinstance(config, dict):
        raise ConfigError(f"'{source}': the config must be a mapping of keys to values, got {type(config).__name__}")
    try:
        errors = sorted(_schema_validator().iter_errors(config),
                        key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
        if errors:
            raise ConfigError(one_line(_describe_schema_error(errors[0], source)))
        result = copy.deepcopy(config)
    except RecursionError:
        raise too_deep(source) from None
    for section in ("tasks", "backbones", "strategies", "training"):
        result.setdefault(section, {})
    try:
        _check_catalogue(result)
        _check_runs(result)
        _check_val_sizes(result)
        _check_targets(result)
    except FieldError as error:
        raise error.in_file(source) from None
    return result


def _check_targets(config: dict) -> None:
    """Every reproduction target names a task the grid runs."""
    tasks = list(dict.fromkeys(experiment["task"] for experiment in config["experiments"]))
    for index, target in enumerate(config.get("targets", [])):
        if target["task"] not in tasks:
            raise FieldError(f"targets[{index}].task", f"{target['task']!r} is not a task of this grid's experiments; "
                                                       f"valid: {', '.join(tasks)}")


class FieldError(Exception):
    """A problem at one field of a config (e.g. `tasks.sst2.max_length`), before the file is known; the validator
    raises it and turns it into one ConfigError line with `in_file`."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message

    def in_file(self, source: str) -> ConfigError:
        return ConfigError(one_line(f"'{source}', field '{self.field}': {self.message}"))



def checked_at(field: str, check, *args):
    """`check(*args)` with its ConfigError reported as a FieldError at `field` (at `field.KEY` for a bad option
    KEY)."""
    try:
        return check(*args)
    except OptionError as error:
        raise FieldError(field if error.key is None else f"{field}.{error.key}", error.detail) from None
    except ConfigError as error:
        raise FieldError(field, str(error)) from None


def _field_name(path) -> str:
    parts = []
    for part in path:
        parts.append(f"[{part}]" if isinstance(part, int) else (("." if parts else "") + str(part)))
    return "".join(parts) or "(top level)"


def _describe_schema_error(error, source: str) -> str:
    field = _field_name(error.absolute_path)
    if error.validator == "propertyNames":
        sub = error.context[0] if error.context else error
        return f"'{source}', field '{field}': invalid key {sub.instance!r} ({sub.message})"
    if error.validator == "additionalProperties" and error.validator_value is False:
        allowed = ", ".join(sorted(error.schema.get("properties", {})))
        return f"'{source}', field '{field}': {error.message}; allowed keys: {allowed}"
    if error.validator == "type":
        return f"'{source}', field '{field}': expected {error.validator_value}, got {error.instance!r}"
    return f"'{source}', field '{field}': {error.message}"


def _check_catalogue(config: dict) -> None:
    """Every name and option against the catalogue; fills in the defaults of the config's own sections."""
    config["results_dir"] = checked_at("results_dir", check_value, RESULTS_DIR,
                                     config.get("results_dir", RESULTS_DIR.default), "results_dir")
    checked_at("results_dir", layout.check_results_dir, config["results_dir"])
    for index, seed in enumerate(config["seeds"]):
        if seed > MAX_SEED:
            raise FieldError(f"seeds[{index}]", f"got {seed}, expected an integer from 0 to {MAX_SEED}")
    for name, options in config["backbones"].items():  # first: the experiments name variants
        checked_at(f"backbones.{name}", _check_variant_name, name, options)
        if VARIANT_KEY in options:
            checked_at(f"backbones.{name}.{VARIANT_KEY}", catalogue.get, "backbone", options[VARIANT_KEY])
    for index, experiment in enumerate(config["experiments"]):
        where = f"experiments[{index}]"
        modality = checked_at(f"{where}.task", catalogue.get, "task", experiment["task"]).facts["modality"]
        for kind, key in (("backbone", "backbones"), ("strategy", "strategies")):
            for position, name in enumerate(experiment[key]):
                component_id = backbone_id(config, name) if kind == "backbone" else name
                checked_at(f"{where}.{key}[{position}]", catalogue.get, kind, component_id)
                checked_at(f"{where}.{key}[{position}]", _check_modality, kind, component_id, experiment["task"],
                           modality)
        checked_at(f"{where}.training", _check_training, experiment.get("training"))
    for section, kind in SECTIONS.items():
        for name, options in config[section].items():
            component_id, options = (backbone_id(config, name), backbone_params(config, name)) if kind == "backbone" \
                else (name, options)
            field = f"{section}.{name}" + (".backbone" if component_id != name else "")
            component = checked_at(field, catalogue.get, kind, component_id)
            checked_at(f"{section}.{name}", component.check, options)
    for name in config["backbones"]:
        checked_at(f"backbones.{name}", _check_backbone, backbone_id(config, name), backbone_params(config, name))
    checked_at("training", _check_training, config["training"])
    for name in config["policies"]:
        if len(name.encode()) > NAME_MAX:
            raise FieldError("policies", f"the policy name {name[:24]!r}… has {len(name.encode())} characters; it names "
                             f"a folder (runs/…/policies/NAME), and a file name may have at most {NAME_MAX}")
        method = policy_method(config, name)
        field = f"policies.{name}" + (".method" if "method" in config["policies"][name] else "")
        checked_at(field, catalogue.get, "policy", method)
        checked_at(f"policies.{name}", catalogue.get("policy", method).check, policy_params(config, name))
    from .policies.base import FIT_OPTIONS

    config["policy_fit"] = checked_at("policy_fit", check_options, FIT_OPTIONS, config.get("policy_fit"), "policy_fit")
    latency = {"policies": [], **config.get("latency", {})}
    unknown = [name for name in latency["policies"] if name not in config["policies"]]
    if unknown:
        raise FieldError("latency.policies", f"{unknown} are not configured policies; valid names: "
                                              f"{', '.join(config['policies'])}")
    for key, option in (("batch_sizes", BATCH_SIZES), ("samples", LATENCY_SAMPLES), ("passes", LATENCY_PASSES)):
        latency[key] = checked_at(f"latency.{key}", check_value, option, latency.get(key, option.default), key)
    config["latency"] = latency


def _check_variant_name(name: str, options: dict) -> None:
    """A backbone variant (`cnn-large: {backbone: cnn, …}`) names a folder of its runs: a plain name that is not a
    catalogue backbone itself (which would make `backbone:` ambiguous)."""
    if VARIANT_KEY not in options:
        return
    if not isinstance(options[VARIANT_KEY], str):
        raise ConfigError(f"'{VARIANT_KEY}' names the catalogue backbone this variant configures; got "
                          f"{options[VARIANT_KEY]!r}")
    if name in catalogue.components("backbone") and name != options[VARIANT_KEY]:
        raise ConfigError(f"{name!r} is a catalogue backbone; a variant of {options[VARIANT_KEY]!r} needs a name of "
                          f"its own (e.g. {options[VARIANT_KEY]}-large)")
    if not VARIANT_NAME.fullmatch(name) or len(name.encode()) > NAME_MAX:
        raise ConfigError(f"the variant name {name[:24]!r} names the folder of its runs: use lower-case letters, "
                          f"digits, '.' and '-' (starting with a letter or digit), at most {NAME_MAX} bytes")


def backbone_id(config: dict, name: str) -> str:
    """The catalogue backbone that the config's backbone `name` is: itself, or a variant's `backbone`."""
    return config.get("backbones", {}).get(name, {}).get(VARIANT_KEY, name)


def backbone_params(config: dict, name: str) -> dict:
    """The options the config gives backbone `name` (a variant's, without its `backbone` key)."""
    return {k: v for k, v in config.get("backbones", {}).get(name, {}).items() if k != VARIANT_KEY}


def _check_modality(kind: str, name: str, task: str, modality: str) -> None:
    """A backbone or strategy that cannot take the task's inputs is refused now, not when its training job starts."""
    problem = catalogue.modality_problem(kind, name, modality)
    if problem:
        fitting = [other for other in catalogue.components(kind)
                   if not catalogue.modality_problem(kind, other, modality)]
        raise ConfigError(f"{problem}, and task {task!r} is {modality}; {catalogue.PLURALS[kind]} for it: "
                          f"{', '.join(fitting)}")


def _check_training(options: dict | None) -> None:
    from .training.options import TRAINING_OPTIONS

    check_options(TRAINING_OPTIONS, options, "training")


def _check_backbone(name: str, options: dict) -> None:
    """The backbone's options; a `package:NAME` source must be a model package now (found without importing it),
    not when training starts."""
    from .models.backbones import backbone_options
    from .models.pretrained import PACKAGE_PREFIX, package_model_dir

    backbone_options(name, options)
    for key, value in (options or {}).items():
        if isinstance(value, str) and value.startswith(PACKAGE_PREFIX):
            package_model_dir(value.removeprefix(PACKAGE_PREFIX), f"option {key!r}")


def val_size_problem(n_val: int, tolerance: float) -> str | None:
    """Why `n_val` val samples are too few for `tolerance`, or None: the rule `fit` applies to a val split."""
    from .policies.stages import too_few_val_samples

    return too_few_val_samples(n_val, tolerance)


def _check_val_sizes(config: dict) -> None:
    """A task option that fixes or caps the val split below what policy_fit.tolerance needs is refused now, before
    any training (`fit` would refuse the split after it)."""
    tolerance = config["policy_fit"]["tolerance"]
    for task in dict.fromkeys(experiment["task"] for experiment in config["experiments"]):
        options = checked_at(f"tasks.{task}", catalogue.get("task", task).check, config["tasks"].get(task))
        if catalogue.get("task", task).target.metric in SEQUENCE_METRICS:
            continue  # a corpus metric (CIDEr-D): its tolerance is no share of changed samples
        for key in VAL_SIZE_OPTIONS:
            problem = None if options.get(key) is None else val_size_problem(options[key], tolerance)
            if problem:
                given = "" if key in config["tasks"].get(task, {}) else " (the default)"
                raise FieldError(f"tasks.{task}.{key}", f"{key} = {options[key]}{given} is too small for "
                                 f"policy_fit.tolerance: {problem}")


def _check_runs(config: dict) -> None:
    seen: dict[tuple, int] = {}
    for index, experiment in enumerate(config["experiments"]):
        for backbone in experiment["backbones"]:
            for strategy in experiment["strategies"]:
                key = (experiment["task"], backbone, strategy)
                if key in seen:
                    raise FieldError(
                        f"experiments[{index}]", f"task {key[0]!r} with backbone {backbone!r} and strategy "
                        f"{strategy!r} is already trained by experiments[{seen[key]}]; each run may appear once"
                    )
                seen[key] = index
                if catalogue.get("backbone", backbone_id(config, backbone)).target.kind == "captioner":
                    from .models.backbones.captioners import check_combination

                    options = catalogue.get("backbone", backbone_id(config, backbone)).check(
                        backbone_params(config, backbone))
                    checked_at(f"experiments[{index}].strategies", check_combination, backbone, options, strategy)


def runs(config: dict) -> list[Run]:
    """Every trained model of the grid, in config order."""
    return [
        Run(experiment["task"], backbone, strategy, seed)
        for experiment in config["experiments"]
        for backbone in experiment["backbones"]
        for strategy in experiment["strategies"]
        for seed in config["seeds"]
    ]


def runs_by_task(runs_: list[Run]) -> dict[str, list[Run]]:
    """`runs_` grouped by task, tasks and runs in grid order."""
    grouped: dict[str, list[Run]] = {}
    for run in runs_:
        grouped.setdefault(run.task, []).append(run)
    return grouped


def experiment_of(config: dict, task: str, backbone: str, strategy: str) -> dict:
    for experiment in config["experiments"]:
        if experiment["task"] == task and backbone in experiment["backbones"] and strategy in experiment["strategies"]:
            return experiment
    raise ConfigError(f"no experiment trains task {task!r} with backbone {backbone!r} and strategy {strategy!r}")


def training_options(config: dict, task: str, backbone: str, strategy: str) -> dict:
    """Global training defaults overridden key by key by the experiment's own."""
    return {**config.get("training", {}), **experiment_of(config, task, backbone, strategy).get("training", {})}


def skip_reason(config: dict, name: str, run: Run) -> str | None:
    """Why policy `name` is left out of `run`'s cells (e.g. a probability rule on a regression task), or None."""
    return catalogue.policy_skip_reason(policy_method(config, name), run.task, run.strategy)


def cells(config: dict, runs_: list[Run]) -> list[tuple[Run, str]]:
    """The (run, policy name) cells of the grid: every configured policy that applies to the run."""
    return [(run, name) for run in runs_ for name in config["policies"] if skip_reason(config, name, run) is None]


def skipped_cells(config: dict, task: str) -> list[dict[str, str]]:
    """The policies left out of `task`'s grid, one row per backbone × strategy × policy, with the reason."""
    rows = {}
    for run in runs(config):
        for name in config["policies"]:
            reason = skip_reason(config, name, run) if run.task == task else None
            if reason:
                rows[(run.backbone, run.strategy, name)] = reason
    return [{"backbone": b, "strategy": s, "policy": p, "reason": r} for (b, s, p), r in rows.items()]


def policy_method(config: dict, name: str) -> str:
    return config["policies"][name].get("method", name)


def policy_params(config: dict, name: str) -> dict:
    return {k: v for k, v in config["policies"][name].items() if k != "method"}


def options_json(value: Any) -> str:
    """A config section's value as JSON for a rule's command line (Snakemake params). A mapping's own keys are
    sorted: the order options are written in means nothing, so moving one in the config reruns no job. What they
    hold keeps the order the config gives, because there it can mean something: `test: {yelp: …, imdb: …}` is the
    test stream, domain by domain, and `train` files are read one after the other."""
    if isinstance(value, dict):
        value = dict(sorted(value.items(), key=lambda item: str(item[0])))
    return json.dumps(value)
