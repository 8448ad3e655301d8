"""A reproduction document generated from a finished grid, not written by hand: `eebench reproduction-report`.

It stamps what a reader needs to trust and rerun it — date, eebench commit (and whether the checkout had
uncommitted changes), machine, the command, the grid's wall time — then gives the setting read from the config,
the per-rule times, and for every task the tables the aggregate wrote (leaderboard, Paper vs eebench with each
verdict's reason, the policies on test, data, checks, latency). Every figure comes from the results folder.

Wall time comes from the benchmark file Snakemake writes at each job's end (its modification time) and the job's
own wall seconds: the span from the first job's start to the last job's end of each invocation, summed over the
invocations that filled the results folder (grid_wall_time), which the document counts."""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import subprocess
from pathlib import Path
from typing import Sequence

import pandas as pd

from .. import layout
from ..errors import DataError
from .rule_times import benchmark_jobs, format_rule_times

TASK_HEADING = re.compile(r"^(#+) ", re.MULTILINE)


IDLE_GAP_S = 60.0  # a pause between jobs longer than this is time between invocations, not the grid's


def grid_wall_time(results_dir: Path) -> tuple[float, int, int] | None:
    """Seconds during which the grid ran, the number of jobs and of invocations; None without benchmarks.

    Each job spans its start (end − its wall seconds) to its end; spans that overlap or follow within IDLE_GAP_S
    (Snakemake's own scheduling between jobs) make one invocation, and the wall time is the sum of the
    invocations' spans, so a later partial rerun (e.g. an aggregate only) adds its own minutes, not the hours
    between."""
    jobs = benchmark_jobs(results_dir)
    if jobs.empty:
        return None
    spans = sorted(zip(jobs["ended"] - jobs["s"], jobs["ended"]))
    total, invocations = 0.0, 1
    start, end = spans[0]
    for job_start, job_end in spans[1:]:
        if job_start > end + IDLE_GAP_S:
            total, invocations, start = total + end - start, invocations + 1, job_start
        end = max(end, job_end)
    return float(total + end - start), len(jobs), invocations


CODE = ("src", "workflow", "Snakefile", "config", "benchmarks", "scripts", "pyproject.toml")  # what makes a figure
DOCUMENTS = "**/*.md"  # inside CODE too (config/README.md): pages the benchmarks rewrite, not code


def commit_of(checkout: Path) -> str:
    """The checkout's commit, marked when its code (CODE: not the documents a run rewrites) had uncommitted changes;
    'unknown' outside a git checkout."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(checkout), *args], capture_output=True, text=True,
                              check=True).stdout.strip()

    try:
        commit = git("rev-parse", "--short", "HEAD")
        changes = git("status", "--porcelain", "--untracked-files=no", "--", *(f":(top){path}" for path in CODE),
                      f":(top,glob,exclude){DOCUMENTS}")
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"`{commit}`" + (" with uncommitted changes to its code" if changes else "")


def machine() -> str:
    """CPU model, cores, memory, OS, Python and torch versions, and the GPUs torch sees."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")]
        cpu = names[0] if names else cpu
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.is_file():
        total_kib = int(meminfo.read_text().split("MemTotal:", 1)[1].split()[0])
        memory = f", {total_kib / 2**20:.0f} GiB memory"
    try:
        import torch

        gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        accel = f"torch {torch.__version__}; " + (", ".join(gpus) if gpus else "no GPU")
    except ImportError:
        accel = "torch not installed"
    return (f"{cpu}, {os.cpu_count()} cores{memory}; {platform.system()} {platform.release()}; "
            f"Python {platform.python_version()}; {accel}")


def setting_table(config: dict) -> str:
    """One row per experiment: task, backbones, strategies; then seeds, policies and the fitting tolerance."""
    rows = [{"task": experiment["task"], "backbones": ", ".join(experiment["backbones"]),
             "strategies": ", ".join(experiment["strategies"])} for experiment in config["experiments"]]
    policies = ", ".join(f"`{name}`" for name in config["policies"])
    return (pd.DataFrame(rows).to_markdown(index=False) + "\n\n"
            f"Seeds {', '.join(map(str, config['seeds']))}; policies {policies}; knobs fitted on val within "
            f"{config['policy_fit']['tolerance']:g} of the final exit (`policy_fit.tolerance`).")


def config_notes(config_path: Path) -> str:
    """The config file's leading comment (the setting, its sources and how it differs from the papers), as
    Markdown: the text after each `#`; empty when the file opens without one."""
    lines = []
    for line in config_path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        lines.append(line[1:].removeprefix(" "))
    return "\n".join(lines).strip()


def targets_table(results_dir: Path, targets: list[dict]) -> str:
    """The config's `targets`, each beside what the run measured and its verdict; then the published final-layer
    figures of their tasks (published.csv's final rows, e.g. a fully fine-tuned model's: references, never judged)."""
    from ..io import read_json
    from .published import load_published

    rows = []
    for target in targets:
        task, goal = target["task"], target["at_least"]
        if target["figure"] == "final-exit":
            table = pd.read_csv(results_dir / layout.TABLES["table"].format(task=task))
            metric = read_json(results_dir / layout.DATA.format(task=task) / "info.json")["metric"]
            for _, row in table[table["policy"] == "final"].iterrows():
                mean = row["metric_mean"]
                rows.append({"target": f"{task} {metric} at the final exit ({row['backbone']}, {row['strategy']}, "
                                       f"{row['n_seeds']} seeds)",
                             "goal": f"≥ {goal:g}", "measured": f"{mean:.4f} ± {row['metric_std']:.4f}",
                             "verdict": _met(mean >= goal)})
        else:
            for path in sorted(results_dir.glob(layout.CHECKS.format(task=task, backbone="*", strategy="*", seed="*"))):
                run = layout.parse_run(path)
                accuracy = [1 - error for error in read_json(path)["errors"]["test"]["error_rate"]]
                rows.append({"target": f"{task} accuracy at every exit ({run['backbone']}, {run['strategy']}, seed "
                                       f"{run['seed']})", "goal": f"≥ {goal:g}",
                             "measured": " ".join(f"{value:.3f}" for value in accuracy),
                             "verdict": _met(min(accuracy) >= goal)})
    if not rows:
        return "No run of these tasks has finished."
    published = load_published()
    references = []
    for task in dict.fromkeys(target["task"] for target in targets):
        finals = published[(published["task"] == task) & published["method"].str.startswith("final")]
        references += [f"- {task}: {row['backbone']} {row['value']} ({row['paper']}; {row['source']})"
                       for _, row in finals.iterrows()]
    return (pd.DataFrame(rows).to_markdown(index=False)
            + ("\n\nPublished final-layer figures of these tasks (references, never judged):\n\n"
               + "\n".join(references) if references else ""))


def _met(ok: bool) -> str:
    return "met" if ok else "**not met**"


def task_section(results_dir: Path, task: str) -> str:
    """The task's Markdown page from the aggregate, its headings one level down."""
    path = results_dir / layout.TABLES["markdown"].format(task=task)
    if not path.is_file():
        raise DataError(f"'{path}': file not found; the grid's aggregate for task '{task}' has not run "
                        f"(run the grid to the end first)")
    return TASK_HEADING.sub(lambda match: "#" + match.group(1) + " ", path.read_text(encoding="utf-8")).strip()


def reproduction_report(grids: Sequence[tuple[Path, Path]], title: str | None = None,
                        now: dt.datetime | None = None) -> str:
    """The document, in Markdown, of one or several grids (results folder, config) run as one reproduction (e.g.
    the CPU reproduction's text and PCEE grid beside BranchyNet's own)."""
    from ..config import load_config

    if not grids:
        raise DataError("reproduction-report: name at least one results folder with its config")
    loaded = []
    for results_dir, config_path in grids:
        results_dir, config_path = Path(results_dir), Path(config_path)
        if not results_dir.is_dir():
            raise DataError(f"'{results_dir}': results folder not found")
        loaded.append((results_dir, config_path, load_config(config_path)))
    now = now or dt.datetime.now(dt.timezone.utc)
    several = len(loaded) > 1
    rows = [("date", now.strftime("%Y-%m-%d %H:%M UTC")),
            ("eebench commit", commit_of(Path(__file__).resolve().parents[3])), ("machine", machine())]
    for results_dir, config_path, _ in loaded:
        of = f" ({config_path.stem})" if several else ""
        rows += [(f"command{of}", f"`snakemake --cores all --configfile {config_path}`"),
                 (f"results{of}", f"`{results_dir}`"), (f"wall time{of}", _wall_text(results_dir))]
    stamp = pd.DataFrame({"": [row[0] for row in rows], " ": [row[1] for row in rows]})
    default_title = "Reproduction: " + " + ".join(config_path.stem for _, config_path, _ in loaded)
    parts = [
        f"# {title or default_title}",
        "Generated by `eebench reproduction-report` from the results folders below: every figure in this document was "
        "measured in those runs, and every published figure comes from the project's published data with its source "
        "beside it. Headline figures are the knobs fitted on val, evaluated on test; intervals are paired-bootstrap "
        "percentile intervals (see docs/report.md).",
        stamp.to_markdown(index=False),
    ]
    for results_dir, config_path, config in loaded:
        of = f": {config_path.stem}" if several else ""
        tasks = list(dict.fromkeys(experiment["task"] for experiment in config["experiments"]))
        parts += [f"## Setting{of}", config_notes(config_path), setting_table(config),
                  f"## Per-rule times{of}", "```\n" + format_rule_times(results_dir) + "\n```"]
        if config.get("targets"):
            parts += [f"## Targets{of}", targets_table(results_dir, config["targets"])]
        parts += [task_section(results_dir, task) for task in tasks]
    return "\n\n".join(parts) + "\n"


def _wall_text(results_dir: Path) -> str:
    wall = grid_wall_time(results_dir)
    if wall is None:
        return "no benchmark files: no job of this grid has run"
    seconds, jobs, invocations = wall
    runs = ("one invocation, first job's start to last job's end" if invocations == 1 else
            f"{invocations} invocations, each from its first job's start to its last job's end, the time between "
            f"them left out")
    return f"{seconds / 60:.1f} min over {jobs} jobs ({runs})"
