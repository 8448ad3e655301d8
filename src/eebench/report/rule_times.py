"""Per-rule time and memory of a grid, from the benchmark files Snakemake writes for every job (`benchmark:` in
the rules, under results/benchmarks/{rule}/): how long each stage took and where a grid's wall time goes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .. import layout


def rule_times(results_dir: str | Path) -> pd.DataFrame:
    """One row per rule: jobs, summed and largest wall seconds, summed CPU seconds, largest resident memory (MiB).
    Empty when no job of this results folder has a benchmark file yet."""
    root = Path(results_dir) / layout.BENCHMARKS
    rows = [
        {"rule": path.relative_to(root).parts[0], **pd.read_csv(path, sep="\t").iloc[-1].to_dict()}
        for path in sorted(root.rglob("*.tsv"))
    ]
    if not rows:
        return pd.DataFrame(columns=["rule", "jobs", "wall_s", "max_wall_s", "cpu_s", "max_rss_mib"])
    jobs = pd.DataFrame(rows)
    jobs["max_rss"] = pd.to_numeric(jobs["max_rss"], errors="coerce")  # "-" where a job was too short to sample
    table = jobs.groupby("rule", sort=False).agg(
        jobs=("s", "size"), wall_s=("s", "sum"), max_wall_s=("s", "max"), cpu_s=("cpu_time", "sum"),
        max_rss_mib=("max_rss", "max"))
    return table.sort_values("wall_s", ascending=False).round(1).reset_index()


def format_rule_times(results_dir: str | Path) -> str:
    table = rule_times(results_dir)
    if table.empty:
        return f"{results_dir}: no benchmark files under {layout.BENCHMARKS}/ yet"
    total = f"{len(table)} rules, {int(table['jobs'].sum())} jobs: {table['wall_s'].sum():.0f} s of job wall time, " \
            f"{table['cpu_s'].sum():.0f} CPU-s"
    return f"Per-rule times ({results_dir}; summed over jobs, which may run in parallel):\n" \
           f"{table.to_string(index=False)}\n{total}"
