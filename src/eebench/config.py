"""Load and validate a configuration, and expand it into the grid of runs and policy cells.

The JSON schema (workflow/schemas/config.schema.yaml) fixes the structure and the valid names; this module
turns its errors into one clear message naming the file, the field and the allowed values, fills in the
defaults and checks what a schema cannot (cross references, duplicated runs)."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import yaml

from .errors import ConfigError

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"

# Policies that read per-exit outputs only some strategies train (BERxiT's learning-to-exit heads), by policy id.
# Kept here, torch-free, because the DAG is built from it; a test checks it against the training registry.
POLICY_NEEDS_STRATEGY = {"lte": {"alternating"}}


@dataclass(frozen=True)
class Run:
    """One trained model: a cell of task × backbone × strategy × seed."""

    task: str
    backbone: str
    strategy: str
    seed: int

    @property
    def path(self) -> str:
        return f"{self.task}/{self.backbone}/{self.strategy}/seed{self.seed}"


def load_schema(path: Path = SCHEMA_PATH) -> dict:
    return yaml.safe_load(Path(path).read_text())


def load_config(path: str | Path, schema_path: Path = SCHEMA_PATH) -> dict:
    """Read a YAML config file and return it validated, with defaults filled in."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"'{p}': config file not found")
    return validate_config(read_yaml_strict(p), source=str(p), schema_path=schema_path)


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
        raise ConfigError(f"'{p}': not valid YAML ({exc})") from None
    finally:
        loader.dispose()


def validate_config(
    config: Any, source: str = "config", schema_path: Path = SCHEMA_PATH, files: Sequence[str | Path] = ()
) -> dict:
    """Validate `config` against the schema and the cross-field rules; return a copy with defaults. `files` are
    the YAML files it was read from (Snakemake's configfiles): re-read strictly, so a duplicated key is an error."""
    import jsonschema

    for path in files:
        read_yaml_strict(path)
    if not isinstance(config, dict):
        raise ConfigError(f"'{source}': the config must be a mapping of keys to values, got {type(config).__name__}")
    schema = load_schema(schema_path)
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if errors:
        raise ConfigError(_describe_schema_error(errors[0], source))
    result = _with_defaults(config, schema)
    _check_cross_references(result, source, valid_policies=schema["$defs"]["policy"]["enum"])
    return result


def _field_name(path) -> str:
    parts = []
    for part in path:
        parts.append(f"[{part}]" if isinstance(part, int) else (("." if parts else "") + str(part)))
    return "".join(parts) or "(top level)"


def _describe_schema_error(error, source: str) -> str:
    field = _field_name(error.absolute_path)
    if error.validator == "enum":
        allowed = ", ".join(map(str, error.validator_value))
        return f"'{source}', field '{field}': unknown value {error.instance!r}; valid names: {allowed}"
    if error.validator == "propertyNames":
        # the offending key is reported by the nested error; name it and list the valid keys
        sub = error.context[0] if error.context else error
        allowed = sub.validator_value if sub.validator == "enum" else None
        valid = f"; valid names: {', '.join(map(str, allowed))}" if allowed else f" ({sub.message})"
        return f"'{source}', field '{field}': unknown key {sub.instance!r}{valid}"
    if error.validator == "additionalProperties" and error.validator_value is False:
        allowed = ", ".join(sorted(error.schema.get("properties", {})))
        return f"'{source}', field '{field}': {error.message}; allowed keys: {allowed}"
    if error.validator == "type":
        return f"'{source}', field '{field}': expected {error.validator_value}, got {error.instance!r}"
    return f"'{source}', field '{field}': {error.message}"


def _with_defaults(config: dict, schema: dict) -> dict:
    result = copy.deepcopy(config)
    for key, prop in schema["properties"].items():
        if key not in result and "default" in prop:
            result[key] = copy.deepcopy(prop["default"])
        if prop.get("type") == "object" and isinstance(result.get(key), dict):
            for sub_key, sub_prop in prop.get("properties", {}).items():
                if sub_key not in result[key] and "default" in sub_prop:
                    result[key][sub_key] = copy.deepcopy(sub_prop["default"])
    return result


def _check_cross_references(config: dict, source: str, valid_policies: list[str]) -> None:
    for name, options in config["policies"].items():
        if "method" not in options and name not in valid_policies:
            raise ConfigError(
                f"'{source}', field 'policies.{name}': {name!r} is not a policy id, so it needs a 'method' key; "
                f"valid policy ids: {', '.join(valid_policies)}"
            )
    seen: dict[tuple, int] = {}
    for index, experiment in enumerate(config["experiments"]):
        for backbone in experiment["backbones"]:
            for strategy in experiment["strategies"]:
                key = (experiment["task"], backbone, strategy)
                if key in seen:
                    raise ConfigError(
                        f"'{source}', field 'experiments[{index}]': task {key[0]!r} with backbone {backbone!r} and "
                        f"strategy {strategy!r} is already trained by experiments[{seen[key]}]; each run may appear once"
                    )
                seen[key] = index
    _check_component_options(config, source)
    unknown = [name for name in config["latency"]["policies"] if name not in config["policies"]]
    if unknown:
        raise ConfigError(
            f"'{source}', field 'latency.policies': {unknown} are not configured policies; "
            f"valid names: {', '.join(config['policies'])}"
        )


def _check_component_options(config: dict, source: str) -> None:
    """Policy parameters and task options are checked by the (NumPy-only) libraries themselves, at start, so a typo
    fails before hours of training rather than in the cell that uses it. Backbone and strategy options are checked
    by `train` (their registries import torch)."""
    from .policies import make_policy
    from .tasks import get_task
    from .tasks.options import resolve_options

    for name in config["policies"]:
        try:
            make_policy(policy_method(config, name), **policy_params(config, name))
        except ConfigError as error:
            raise ConfigError(f"'{source}', field 'policies.{name}': {error}") from None
    for task, options in config.get("tasks", {}).items():
        try:
            resolve_options(task, get_task(task).options, options)
        except ConfigError as error:
            raise ConfigError(f"'{source}', field 'tasks.{task}': {error}") from None


def runs(config: dict) -> list[Run]:
    """Every trained model of the grid, in config order."""
    return [
        Run(experiment["task"], backbone, strategy, seed)
        for experiment in config["experiments"]
        for backbone in experiment["backbones"]
        for strategy in experiment["strategies"]
        for seed in config["seeds"]
    ]


def experiment_of(config: dict, task: str, backbone: str, strategy: str) -> dict:
    for experiment in config["experiments"]:
        if experiment["task"] == task and backbone in experiment["backbones"] and strategy in experiment["strategies"]:
            return experiment
    raise ConfigError(f"no experiment trains task {task!r} with backbone {backbone!r} and strategy {strategy!r}")


def training_options(config: dict, task: str, backbone: str, strategy: str) -> dict:
    """Global training defaults overridden key by key by the experiment's own."""
    return {**config.get("training", {}), **experiment_of(config, task, backbone, strategy).get("training", {})}


def policy_applies(config: dict, name: str, strategy: str) -> bool:
    """Whether policy `name` can run on models trained with `strategy` (e.g. `lte` needs BERxiT's heads)."""
    needed = POLICY_NEEDS_STRATEGY.get(policy_method(config, name))
    return needed is None or strategy in needed


def policy_method(config: dict, name: str) -> str:
    return config["policies"][name].get("method", name)


def policy_params(config: dict, name: str) -> dict:
    return {k: v for k, v in config["policies"][name].items() if k != "method"}
