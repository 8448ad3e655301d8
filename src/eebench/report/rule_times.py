"""Per-rule time and memory of a grid, from the benchmark files Snakemake writes for every job (`benchmark:` in
the rules, under results/benchmarks/{rule}/): how long each stage took and where a grid's wall time goes.

Snakemake measures a job's CPU time and memory by sampling its processes: once as the job starts, then every
0.5 s (`snakemake.benchmark.BENCHMARK_INTERVAL_SHORT`). A job that ends before the second sample was seen only
at its start, when its shell had done nothing yet, so its file reads `cpu_time` 0 and the shell's few MiB as
`max_rss` (or NA): figures Snakemake did not measure, not a job that cost nothing. Such jobs count in the job and
wall-time columns (wall time is always measured) but not in the CPU and memory columns; `sampled` says how many
of a rule's jobs those columns cover, and a rule none of whose jobs was sampled shows "–" there."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .. import layout

SAMPLING_INTERVAL_S = 0.5  # Snakemake's first sampling interval (BENCHMARK_INTERVAL_SHORT)
COLUMNS = ["rule", "jobs", "wall_s", "max_wall_s", "cpu_s", "max_rss_mib", "sampled"]


def sampled(jobs: pd.DataFrame) -> pd.Series:
    """Which jobs Snakemake sampled after their start: a wall time of at least one sampling interval and some CPU
    time recorded."""
    cpu = pd.to_numeric(jobs["cpu_time"], errors="coerce")
    return (jobs["s"] >= SAMPLING_INTERVAL_S) & (cpu > 0)


def benchmark_jobs(results_dir: str | Path) -> pd.DataFrame:
    """One row per job of the results folder: its rule, Snakemake's benchmark fields (`s` = wall seconds, …) and
    `ended`, when the job ended (the file is written then: its modification time). Empty without benchmark files."""
    root = Path(results_dir) / layout.BENCHMARKS
    return pd.DataFrame([
        {"rule": path.relative_to(root).parts[0], **pd.read_csv(path, sep="\t").iloc[-1].to_dict(),
         "ended": path.stat().st_mtime}
        for path in sorted(root.rglob("*.tsv"))
    ])


def rule_times(results_dir: str | Path, since: float | None = None) -> pd.DataFrame:
    """One row per rule: jobs, summed and largest wall seconds, CPU seconds summed and largest resident memory (MiB)
    over the jobs Snakemake sampled (NaN when it sampled none), and how many those are; only the jobs that ended at
    or after `since` (a Unix time) when given. Empty when no such job has a benchmark file."""
    return _per_rule(_ended_since(benchmark_jobs(results_dir), since))


def _ended_since(jobs: pd.DataFrame, since: float | None) -> pd.DataFrame:
    return jobs if since is None or jobs.empty else jobs[jobs["ended"] >= since]


def _per_rule(jobs: pd.DataFrame) -> pd.DataFrame:
    if jobs.empty:
        return pd.DataFrame(columns=COLUMNS)
    measured = sampled(jobs)
    jobs = jobs.assign(sampled=measured, cpu_time=pd.to_numeric(jobs["cpu_time"], errors="coerce").where(measured),
                       max_rss=pd.to_numeric(jobs["max_rss"], errors="coerce").where(measured))
    table = jobs.groupby("rule", sort=False).agg(
        jobs=("s", "size"), wall_s=("s", "sum"), max_wall_s=("s", "max"),
        cpu_s=("cpu_time", lambda cpu: cpu.sum(min_count=1)), max_rss_mib=("max_rss", "max"),
        sampled=("sampled", "sum"))
    return table.sort_values("wall_s", ascending=False).round(1).reset_index()[COLUMNS]


def format_rule_times(results_dir: str | Path, since: float | None = None) -> str:
    """The per-rule table as text; with `since` (the invocation's start), of that invocation's jobs only, and saying
    so with the count of jobs in the whole results folder (after a one-cell rerun the table is that cell's)."""
    every = benchmark_jobs(results_dir)  # read once: a large grid has tens of thousands of files
    table = _per_rule(_ended_since(every, since))
    if table.empty:
        return (f"{results_dir}: no job ran in this invocation" if since is not None and len(every)
                else f"{results_dir}: no benchmark files under {layout.BENCHMARKS}/ yet")
    jobs, measured = int(table["jobs"].sum()), int(table["sampled"].sum())
    cpu = f"{table['cpu_s'].sum():.0f} CPU-s" if measured else "no CPU time"
    unmeasured = f" ({jobs - measured} jobs ended before Snakemake's first sample after {SAMPLING_INTERVAL_S} s and " \
                 f"have none: '–')" if measured < jobs else ""
    total = f"{len(table)} rules, {jobs} jobs: {table['wall_s'].sum():.0f} s of job wall time, {cpu} over the " \
            f"{measured} sampled jobs{unmeasured}"
    scope = "" if since is None else f"this invocation's {jobs} of the {len(every)} jobs in it; "
    return f"Per-rule times ({results_dir}; {scope}summed over jobs, which may run in parallel; CPU and memory over " \
           f"the jobs Snakemake sampled):\n{table.to_string(index=False, na_rep='–')}\n{total}"
