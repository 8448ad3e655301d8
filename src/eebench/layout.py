"""The results layout: where every stage's output lives under `results_dir` and what each file is called.

Templates are relative to the results folder and use Snakemake's wildcard names, so the rules use them as
patterns and the config expansion and the aggregate fill them in. Nothing else spells a results path."""

from __future__ import annotations

from pathlib import Path

from .errors import DataError

DATA = "data/{task}"
RUN = "runs/{task}/{backbone}/{strategy}/seed{seed}"
MODEL = RUN + "/model"
EXITS = RUN + "/exits/{split}.npz"
COSTS = RUN + "/costs.json"
CHECKS = RUN + "/checks.json"
CELL = RUN + "/policies/{policy}"
FIT = CELL + "/fit.json"
TEST = CELL + "/test.json"
CURVE = CELL + "/curve.csv"
LATENCY = CELL + "/latency.json"
PREPARE_LOG = "logs/prepare/{task}.log"
RUN_LOGS = "logs/{stage}/{task}/{backbone}/{strategy}/seed{seed}"  # + "/{split}.log", "/{policy}.log" or ".log"
BENCHMARKS = "benchmarks"  # Snakemake's per-job time and memory: benchmarks/{rule}/{the job's output template}.tsv

# What `aggregate` writes for a task: name -> template.
TABLES = {
    "leaderboard": "tables/{task}_leaderboard.html",
    "leaderboard_table": "tables/{task}_leaderboard.csv",
    "leaderboard_markdown": "tables/{task}_leaderboard.md",
    "paper": "tables/{task}_paper.html",
    "paper_table": "tables/{task}_paper.csv",
    "table": "tables/{task}.csv",
    "markdown": "tables/{task}.md",
    "data": "tables/{task}_data.csv",
    "checks": "tables/{task}_checks.csv",
    "latency": "tables/{task}_latency.csv",
}
PLOTS = {
    "chart": "plots/{task}.html",
    "image": "plots/{task}.png",
    "exits": "plots/{task}_exits.html",
    "exits_image": "plots/{task}_exits.png",
    **{
        name: f"plots/{{task}}_{check}.{ending}"
        for check in ("errors", "reliability", "categories", "pcee")
        for name, ending in ((check, "html"), (f"{check}_image", "png"))
    },
    "training": "plots/{task}_training.html",
    "training_image": "plots/{task}_training.png",
}
# The aggregate outputs the `all` target asks for (the others come with them).
TARGETS = ("table", "markdown", "chart", "image", "training_image", "latency")


def under(results_dir: str, template: str) -> str:
    return f"{results_dir}/{template}"


def log(stage: str, suffix: str) -> str:
    """The log of a per-run stage: `suffix` is ".log" or "/{name}.log"."""
    return RUN_LOGS.replace("{stage}", stage) + suffix


def benchmark(rule: str, template: str) -> str:
    """Where Snakemake records the time and memory of one job of `rule` whose output follows `template`."""
    return f"{BENCHMARKS}/{rule}/{template}.tsv"


def aggregate_outputs(task: str) -> dict[str, str]:
    """Every aggregate output of `task`, relative to the results folder."""
    return {name: template.format(task=task) for name, template in {**TABLES, **PLOTS}.items()}


def parse_run(path: str | Path) -> dict:
    """Task, backbone, strategy and seed of a path under `runs/{task}/{backbone}/{strategy}/seed{seed}/`."""
    parts = Path(path).parts
    try:
        at = len(parts) - 1 - parts[::-1].index("runs")
        task, backbone, strategy, seed = parts[at + 1 : at + 5]
        if not seed.startswith("seed"):
            raise ValueError
        return {"task": task, "backbone": backbone, "strategy": strategy, "seed": int(seed[4:])}
    except ValueError:
        raise DataError(f"'{path}': not inside a run folder {RUN}/") from None


def parse_cell(path: str | Path) -> dict:
    """Run and policy of a file in a policy cell folder, `{RUN}/policies/{policy}/FILE`."""
    parts = Path(path).parts
    if len(parts) < 3 or parts[-3] != "policies":
        raise DataError(f"'{path}': not a policy cell file (expected {CELL}/FILE)")
    return {**parse_run(path), "policy": parts[-2]}
