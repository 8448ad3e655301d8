# Config validation and the grid. Logic lives in eebench.config, paths in eebench.layout; this file names them.
import os
import shlex
from pathlib import Path

from snakemake.exceptions import WorkflowError

from eebench import layout
from eebench.config import (
    backbone_id,
    backbone_params,
    cells,
    options_json,
    policy_method,
    policy_params,
    runs,
    runs_by_task,
    skipped_cells,
    training_options,
    validate_config,
)
from eebench.errors import EEBenchError
from eebench.tasks import get_task

try:
    _validated = validate_config(
        config, source=" + ".join(map(str, workflow.configfiles)) or "config", files=workflow.configfiles
    )
except EEBenchError as error:
    raise WorkflowError(f"invalid configuration: {error}") from None
config.clear()
config.update(_validated)

RESULTS = config["results_dir"]
RUNS = runs(config)
POLICIES = list(config["policies"])


def results(template: str) -> str:
    """A layout template (eebench.layout) under the results folder, wildcards left in."""
    return layout.under(RESULTS, template)


wildcard_constraints:
    task=r"[^/]+",
    backbone=r"[^/]+",
    strategy=r"[^/]+",
    seed=r"\d+",
    policy=r"[^/]+",


def as_json(value) -> str:
    """A config value as JSON (eebench.config.options_json: options sorted, test domains in config order); rules
    quote it with :q."""
    return options_json(value)


# The grid indexed once (the input functions run once per job: a 20,000-job grid must not rescan it on each call).
RUNS_BY_TASK = runs_by_task(RUNS)
CELLS_BY_TASK = {task: cells(config, task_runs) for task, task_runs in RUNS_BY_TASK.items()}


def policy_cell_options(task: str, policy: str) -> str:
    """The `eebench policy-cell` options that do not name a file, shell-quoted: what the cell fits and how."""
    options = {
        "--policy": policy_method(config, policy),
        "--params": as_json(policy_params(config, policy)),
        "--metric": get_task(task).metric,
        "--tolerance": config["policy_fit"]["tolerance"],
        "--points": config["policy_fit"]["curve_points"],
    }
    flags = " --keep-degenerate-exits" if config["policy_fit"]["keep_degenerate_exits"] else ""
    return " ".join(f"{name} {shlex.quote(str(value))}" for name, value in options.items()) + flags


# One lookup per policy_cell job instead of one input function per option: each callable and each placeholder costs
# Snakemake time on every job, and a dry run of a 20,000-job grid pays it 15,000 times.
POLICY_CELL_OPTIONS = {
    (task, policy): policy_cell_options(task, policy) for task in RUNS_BY_TASK for policy in POLICIES
}


def configured(kind: str, name: str, names) -> str:
    """`name` when the config has it; a target path naming another (a typo, a policy taken out of the config) is a
    WorkflowError naming it and the configured ones, not a KeyError traceback from an input function."""
    if name not in names:
        raise WorkflowError(
            f"{kind} {name!r} (from the requested target path) is not in the configuration; "
            f"configured {kind} names: {', '.join(names)}"
        )
    return name


def policy_cell_options_of(wildcards) -> str:
    task, policy = configured("task", wildcards.task, RUNS_BY_TASK), configured("policy", wildcards.policy, POLICIES)
    return POLICY_CELL_OPTIONS[task, policy]


def run_files(task: str, template: str) -> list[str]:
    """A layout template for every run of `task`."""
    return [results(template.format(**vars(run))) for run in RUNS_BY_TASK[configured("task", task, RUNS_BY_TASK)]]


def cell_files(task: str, template: str, policies=None) -> list[str]:
    """A cell template for every run of `task` and every policy (of `policies`) that applies to the run."""
    return [
        results(template.format(**vars(run), policy=policy))
        for run, policy in CELLS_BY_TASK[configured("task", task, CELLS_BY_TASK)]
        if policies is None or policy in policies
    ]


def tasks() -> list[str]:
    return list(RUNS_BY_TASK)


def targets() -> list[str]:
    """Everything `all` builds: the tables and charts of every task (which gather every other output)."""
    return [results(layout.aggregate_outputs(task)[name]) for task in tasks() for name in layout.TARGETS]


# Every rule's software, for --software-deployment-method conda (a path relative to the rule files).
CONDA_ENV = "../envs/eebench.yaml"


# Each task's report section (category = the task); the numbers order its subsections, leaderboard first.
def task_report(path, caption, subsection):
    return report(path, caption=f"../report/{caption}.rst", category="{task}", subcategory=subsection)


def results_dir_of(path, template):
    """The results folder of an output `path` laid out as `template` (as many folders up as the template has)."""
    return str(Path(path).parents[len(Path(template).parts) - 1])
