"""Benchmark: what a smoke run of each paper grid costs (config/README.md, "Smoke mode"). For every
`config/paper/*.yaml` (or the ones named): `eebench smoke-config` shrinks it, then `snakemake --cores 2` runs the
whole DAG in a fresh folder, one grid after the other. Prints per grid its runs, policy cells and jobs, the wall
time, the CPU time of everything Snakemake started (the children's resource usage, as `/usr/bin/time` counts it),
and where the jobs' wall time went by rule (`eebench rule-times`: the benchmark files of the jobs).

    python benchmarks/bench_smoke.py [--only beem-glue survey ...] [--markdown FILE]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from performance_page import Measurement, add_markdown_option, markdown_table

REPO = Path(__file__).resolve().parents[1]
PAPER = REPO / "config" / "paper"
TOP_RULES = 3  # rules named in each grid's row, by summed job wall time


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_snakemake(workdir: Path, config: Path, what: str, *options: str) -> tuple[float, float]:
    """Wall and CPU seconds (every process it started) of `snakemake` on `config` in `workdir`, its progress on this
    terminal; exits naming `what` when the run fails."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    cpu, started = children_cpu(), time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(workdir),
                           "--configfile", str(config), "--quiet", "rules", *options], env=env)
    if done.returncode:
        sys.exit(f"{Path(sys.argv[0]).stem}: {what} failed (exit {done.returncode}); see above")
    return time.perf_counter() - started, children_cpu() - cpu


def smoke_run(name: str, tmp: Path) -> dict:
    """Shrink grid `name`, run it with Snakemake in `tmp`; its counts, wall and CPU seconds and per-rule times."""
    from eebench.config import cells, load_config, runs
    from eebench.report.rule_times import rule_times

    config, results = tmp / "config.yaml", tmp / "results"
    subprocess.run([sys.executable, "-m", "eebench.cli", "smoke-config", str(PAPER / f"{name}.yaml"), "--data",
                    str(tmp / "data"), "--out", str(config), "--results-dir", str(results)], check=True,
                   stdout=subprocess.DEVNULL)
    smoke = load_config(config)
    wall, cpu = run_snakemake(tmp, config, f"the smoke run of {name}", "--cores", "2")
    per_rule = rule_times(results).sort_values("wall_s", ascending=False)
    return {"grid": name, "runs": len(runs(smoke)), "cells": len(cells(smoke, runs(smoke))),
            "jobs": int(per_rule["jobs"].sum()), "wall": wall, "cpu": cpu,
            "rules": [(row.rule, int(row.jobs), float(row.wall_s)) for row in per_rule.head(TOP_RULES).itertuples()]}


def markdown(setting: str, figures: list[dict]) -> str:
    rows = [[f"`{f['grid']}`", str(f["runs"]), str(f["cells"]), str(f["jobs"]), f"{f['wall']:.0f} s",
             f"{f['cpu']:.0f} s", f"{f['cpu'] / f['jobs']:.1f} s",
             ", ".join(f"{rule} {jobs} × → {wall:.0f} s" for rule, jobs, wall in f["rules"])] for f in figures]
    total_wall, total_cpu = sum(f["wall"] for f in figures), sum(f["cpu"] for f in figures)
    return "\n\n".join([
        setting,
        markdown_table(["grid", "runs", "policy cells", "jobs", "wall", "CPU (all processes)", "CPU per job",
                        "largest rules by job wall time (jobs → summed s)"], rows),
        f"All {len(figures)} grids: {total_wall / 60:.1f} min wall, {total_cpu / 60:.1f} CPU-min.",
    ])


def main() -> None:
    grids = sorted(path.stem for path in PAPER.glob("*.yaml"))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=grids, default=grids, metavar="GRID",
                        help=f"grids to run (of {', '.join(grids)})")
    add_markdown_option(parser)
    args = parser.parse_args()
    measurement = Measurement.begin()
    figures = []
    for name in args.only:
        print(f"== smoke run of {name}", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            figures.append(smoke_run(name, Path(tmp)))
        f = figures[-1]
        print(f"{name}: {f['runs']} runs, {f['cells']} policy cells, {f['jobs']} jobs, {f['wall']:.0f} s wall, "
              f"{f['cpu']:.0f} CPU-s", flush=True)
    import snakemake

    setting = (f"Each grid shrunk by `eebench smoke-config` and run by `snakemake --cores 2` (Snakemake "
               f"{snakemake.__version__}) in a fresh folder, one grid after the other, without the report; CPU is "
               f"the user + system time of every process the run started.")
    if args.markdown:
        measurement.write(args.markdown, markdown(setting, figures))


if __name__ == "__main__":
    main()
