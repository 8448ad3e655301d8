# Config validation and the grid. Logic lives in eebench.config; this file only names paths.
import json
import shlex

from snakemake.exceptions import WorkflowError

from eebench.config import (
    policy_applies,
    policy_method,
    policy_params,
    runs,
    training_options,
    validate_config,
)
from eebench.errors import EEBenchError
from eebench.tasks import get_task

try:
    _validated = validate_config(config, source=" + ".join(map(str, workflow.configfiles)) or "config")
except EEBenchError as error:
    raise WorkflowError(f"invalid configuration: {error}") from None
config.clear()
config.update(_validated)

RESULTS = config["results_dir"]
RUNS = runs(config)
POLICIES = list(config["policies"])
RUN = RESULTS + "/runs/{task}/{backbone}/{strategy}/seed{seed}"
DATA = RESULTS + "/data/{task}"


wildcard_constraints:
    task=r"[^/]+",
    backbone=r"[^/]+",
    strategy=r"[^/]+",
    seed=r"\d+",
    policy=r"[^/]+",
    split=r"val|test",


def as_arg(value) -> str:
    """A config value as one shell word of JSON (sorted keys, so the params stay stable between runs)."""
    return shlex.quote(json.dumps(value, sort_keys=True))


def task_metric(wildcards) -> str:
    return get_task(wildcards.task).metric


def runs_of(task: str) -> list:
    return [run for run in RUNS if run.task == task]


def run_files(task: str, template: str) -> list[str]:
    """`template` (relative to a run folder) for every run of `task` and every policy that applies to it."""
    return [
        f"{RESULTS}/runs/{run.path}/{template}".format(policy=policy)
        for run in runs_of(task)
        for policy in POLICIES
        if policy_applies(config, policy, run.strategy)
    ]


def tasks() -> list[str]:
    return list(dict.fromkeys(run.task for run in RUNS))


def latency_outputs(task: str) -> list[str]:
    """The real early-exit timings of `task`'s runs for the policies named in config latency.policies."""
    return [
        f"{RESULTS}/runs/{run.path}/policies/{policy}/latency.json"
        for run in runs_of(task)
        for policy in config["latency"]["policies"]
        if policy_applies(config, policy, run.strategy)
    ]


def targets() -> list[str]:
    """Everything `all` builds: the tables and charts of every task (which gather every other output)."""
    return [
        f"{RESULTS}/{kind}/{task}{suffix}"
        for task in tasks()
        for kind, suffix in [
            ("tables", ".csv"),
            ("tables", ".md"),
            ("plots", ".html"),
            ("plots", ".png"),
            ("plots", "_training.png"),
            ("tables", "_latency.csv"),
        ]
    ]
