# Config validation and the grid. Logic lives in eebench.config, paths in eebench.layout; this file names them.
import json

from snakemake.exceptions import WorkflowError

from eebench import layout
from eebench.config import cells, policy_method, policy_params, runs, skipped_cells, training_options, validate_config
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
    split=r"val|test",


def as_json(value) -> str:
    """A config value as JSON (sorted keys, so the params stay stable between runs); rules quote it with :q."""
    return json.dumps(value, sort_keys=True)


def task_metric(wildcards) -> str:
    return get_task(wildcards.task).metric


def runs_of(task: str) -> list:
    return [run for run in RUNS if run.task == task]


def run_files(task: str, template: str) -> list[str]:
    """A layout template for every run of `task`."""
    return [results(template.format(**vars(run))) for run in runs_of(task)]


def cell_files(task: str, template: str, policies=None) -> list[str]:
    """A cell template for every run of `task` and every policy (of `policies`) that applies to the run."""
    return [
        results(template.format(**vars(run), policy=policy))
        for run, policy in cells(config, runs_of(task))
        if policies is None or policy in policies
    ]


def tasks() -> list[str]:
    return list(dict.fromkeys(run.task for run in RUNS))


def targets() -> list[str]:
    """Everything `all` builds: the tables and charts of every task (which gather every other output)."""
    return [
        results(layout.aggregate_outputs(task)[name]) for task in tasks() for name in layout.TARGETS
    ]
