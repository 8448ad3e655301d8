"""The results layout: where every stage's output lives under `results_dir` and what each file is called.

Templates are relative to the results folder and use Snakemake's wildcard names, so the rules use them as
patterns and the config expansion and the aggregate fill them in. Nothing else spells a results path."""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
from pathlib import Path
from typing import IO

from .errors import ConfigError, DataError

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
AGGREGATE_LOG = "logs/aggregate/{task}.log"
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
    # the same tables as pages of the report (a CSV in the report only downloads)
    "table_page": "tables/{task}.html",
    "data_page": "tables/{task}_data.html",
    "checks_page": "tables/{task}_checks.html",
    "latency_page": "tables/{task}_latency.html",
}
PLOTS = {
    "chart": "plots/{task}.html",
    "image": "plots/{task}.png",
    "sizes": "plots/{task}_sizes.html",  # accuracy against FLOPs across model sizes (PCEE's claim)
    "sizes_image": "plots/{task}_sizes.png",
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


# The results folder's lock, held (flock) by the Snakemake run that writes the folder and released when it exits; it
# names that run's PID and host. Every real run leaves it, so it also marks the folder as an eebench results folder.
LOCK = ".eebench.lock"
REPORT = "report.html"  # `snakemake --report` (scripts/run.sh)
# A folder holding these and nothing else (or other results folders, as the paper grids' `results/paper-*`) was
# written by eebench.
TOP_LEVEL = frozenset(
    {template.split("/")[0] for template in (DATA, RUN, PREPARE_LOG, RUN_LOGS, BENCHMARKS, *TABLES.values(),
                                             *PLOTS.values())} | {LOCK, REPORT}
)


class ResultsLockedError(ConfigError):
    """Another run holds the results folder's lock."""


def foreign_entries(folder: Path, depth: int = 3) -> list[str]:
    """What in an existing `folder` eebench did not write: [] for an eebench results folder (it holds the lock file,
    or only TOP_LEVEL names and folders that are themselves results folders, `depth` levels down at most)."""
    if (folder / LOCK).is_file():
        return []
    foreign = []
    for entry in sorted(folder.iterdir()):
        if entry.name in TOP_LEVEL:
            continue
        if depth > 1 and entry.is_dir() and not entry.is_symlink() and not foreign_entries(entry, depth - 1):
            continue
        foreign.append(entry.name)
    return foreign


def check_results_dir(value: str) -> str:
    """`value` (a results_dir that passed the path check) if eebench may write there, else ConfigError with the
    reason: the filesystem root, a '~' path (no shell expands it), the working directory, a repository's root, a
    file, or an existing folder holding files eebench did not write."""
    if value.startswith("~"):
        raise ConfigError(f"{value!r}: '~' is not expanded (it would be a folder literally named '~'); write the full "
                          "path")
    folder = Path(value).resolve()
    if folder == Path(folder.anchor):
        raise ConfigError(f"{value!r} is the filesystem root; name a folder of its own for the results")
    if folder == Path.cwd().resolve():
        raise ConfigError(f"{value!r} is the working directory itself; name a subfolder, e.g. 'results'")
    if not folder.exists():
        return value
    if not folder.is_dir():
        raise ConfigError(f"{value!r} is a file, not a folder")
    repository = [name for name in (".git", "Snakefile", "pyproject.toml") if (folder / name).exists()]
    if repository:
        raise ConfigError(f"{value!r} is a repository's root (it holds {repository[0]}); name a subfolder, e.g. "
                          f"'{value.rstrip('/')}/results'")
    foreign = foreign_entries(folder)
    if foreign:
        shown = ", ".join(repr(name) for name in foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise ConfigError(f"{value!r} already holds files eebench did not write ({shown}); an existing results "
                          f"folder holds only {', '.join(sorted(TOP_LEVEL))} and other results folders; name a new "
                          "or empty folder")
    return value


def lock_results(results_dir: str) -> IO | None:
    """Take the results folder's lock (creating the folder) for this process, writing its PID and host into it; keep
    the returned file open for as long as the run writes there (closing it, or the process ending, releases it).
    ResultsLockedError naming the holder when another process has it; None, with a warning, on a filesystem
    without locks."""
    folder = Path(results_dir)
    folder.mkdir(parents=True, exist_ok=True)
    handle = open(folder / LOCK, "a+", encoding="utf-8")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read()
        handle.close()
        try:
            who = "PID {pid} on host {host}".format(**json.loads(holder))
        except (ValueError, KeyError, TypeError):
            who = "a process that has not yet written its PID"
        raise ResultsLockedError(f"'{folder}': another eebench run ({who}) is writing this results folder; wait for "
                                 f"it to end (its lock '{folder / LOCK}' is released when it exits)") from None
    except OSError as exc:
        handle.close()
        print(f"warning: '{folder / LOCK}': this filesystem has no file locks ({exc.strerror}); a second run on the "
              "same results folder is not kept out", file=sys.stderr)
        return None
    handle.seek(0)
    handle.truncate()
    handle.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname()}) + "\n")
    handle.flush()
    return handle


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
