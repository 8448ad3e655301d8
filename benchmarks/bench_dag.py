"""Per-job overhead of the Snakemake grid, each figure beside its target (issue 13, "far less per-job overhead"):

1. the default grid's job count (config/config.yaml, `snakemake -n`) against the one-job-per-stage layout;
2. one `eebench policy-cell` job (fit + evaluate + curve of one cell, a fresh interpreter as Snakemake starts it);
3. `snakemake -n` of a grid of about 20,000 jobs (the default grid with more seeds), and of the grid that had about
   20,000 jobs in the one-job-per-stage layout;
4. Snakemake's own floor: `snakemake -n` of as many jobs of a rule with one input, one output and a one-word shell
   command (what any workflow of that many jobs pays before its rules add inputs, outputs, params and benchmarks).

Run from the repository root: `python benchmarks/bench_dag.py [--seeds N --repeats 5] [--markdown FILE]`.
Timings are wall clock, with the CPU time beside them (the machine's load average is printed: on a shared machine
CPU time is the steadier figure)."""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

from eebench.exits import ExitOutputs
from performance_page import Measurement, add_markdown_option, markdown_table, verdict

REPO = Path(__file__).resolve().parents[1]
# `snakemake -n` on config/config.yaml with one job per stage (rules fit, evaluate, curve, predict per split, costs;
# main at 1d2977c); the README's earlier 395 was the same layout before the UCI sentiment task joined the grid.
JOBS_BEFORE = 493
# The default grid with 82 seeds had 19,933 jobs in that layout (7 + 243 per seed; 6,325 at 26 seeds).
OLD_GRID_SEEDS = 82
CELL_TARGET_S = 0.5
DRY_RUN_TARGET_S = 20.0
DRY_RUN_TARGET_JOBS = 20_000
ONE_JOB, THREE_JOBS = "policy-cell (1 job)", "fit + evaluate + curve (3 jobs)"


def job_env() -> dict[str, str]:
    """The environment of the timed processes: with PYTHONDONTWRITEBYTECODE set, every new interpreter would compile
    its imports from source, which no installed eebench does; give them a bytecode cache instead."""
    env = dict(os.environ)
    if env.pop("PYTHONDONTWRITEBYTECODE", None):
        env.setdefault("PYTHONPYCACHEPREFIX", str(Path(tempfile.gettempdir()) / "eebench-bench-pycache"))
        print("note: PYTHONDONTWRITEBYTECODE unset for the timed processes "
              f"(bytecode cache in {env['PYTHONPYCACHEPREFIX']})")
    return env


def timed(command: list[str], env: dict[str, str], cwd: Path | None = None) -> tuple[float, float, str]:
    """Wall and CPU seconds (user + system of the process and its children) of one command, and its output."""
    before = os.times()
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd)
    wall = time.perf_counter() - start
    after = os.times()
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])} … failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return wall, cpu, done.stdout + done.stderr


def snakemake_dry_run(snakefile: Path, workdir: Path, env: dict[str, str], *options: str) -> tuple[int, float, float]:
    """Job count, wall and CPU seconds of `snakemake -n` of `snakefile` in `workdir`."""
    command = [sys.executable, "-m", "snakemake", "-s", str(snakefile), "--directory", str(workdir), *options,
               "-n", "--quiet", "rules"]
    wall, cpu, output = timed(command, env)
    return int(re.search(r"^total\s+(\d+)", output, re.MULTILINE).group(1)), wall, cpu


def dry_run(config: dict, workdir: Path, env: dict[str, str]) -> tuple[int, float, float]:
    """Job count, wall and CPU seconds of `snakemake -n` of the project's workflow on `config`."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return snakemake_dry_run(REPO / "Snakefile", workdir, env, "--configfile", str(workdir / "config.yaml"))


def floor_dry_run(jobs: int, workdir: Path, env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of `snakemake -n` on `jobs` - 1 jobs of a trivial rule (plus its target rule)."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "Snakefile").write_text(
        f'rule all:\n    input: expand("out/{{i}}.txt", i=range({jobs - 1}))\n\n'
        'rule make:\n    input: "in.txt"\n    output: "out/{i}.txt"\n    shell: "touch {output}"\n')
    (workdir / "in.txt").touch()
    _, wall, cpu = snakemake_dry_run(workdir / "Snakefile", workdir, env)
    return wall, cpu


def cell_job_times(folder: Path, env: dict[str, str], repeats: int) -> dict[str, tuple[float, float]]:
    """Median wall and CPU seconds of one policy cell as one `policy-cell` job and as three jobs (fit, evaluate,
    curve), on exits the size of the default grid's largest task (1,000 samples × 6 exits × 2 classes)."""
    rng = np.random.default_rng(0)
    for split in ("val", "test"):
        logits = rng.normal(size=(1000, 6, 2)).astype(np.float32) + np.linspace(0, 2, 6)[None, :, None]
        labels = rng.integers(0, 2, 1000)
        ExitOutputs(logits=logits, labels=labels, sample_ids=np.arange(1000)).save(folder / f"{split}.npz")
    eebench = [sys.executable, "-m", "eebench.cli"]
    one_job = [[*eebench, "policy-cell", "--val", str(folder / "val.npz"), "--test", str(folder / "test.npz"),
                "--policy", "patience", "--fit-out", str(folder / "fit.json"), "--test-out", str(folder / "test.json"),
                "--curve-out", str(folder / "curve.csv")]]
    three_jobs = [
        [*eebench, "fit", "--val", str(folder / "val.npz"), "--policy", "patience", "--out", str(folder / "f.json")],
        [*eebench, "evaluate", "--fit", str(folder / "f.json"), "--test", str(folder / "test.npz"),
         "--out", str(folder / "t.json")],
        [*eebench, "curve", "--fit", str(folder / "f.json"), "--test", str(folder / "test.npz"),
         "--out", str(folder / "c.csv")],
    ]
    figures = {}
    for name, commands in ((ONE_JOB, one_job), (THREE_JOBS, three_jobs)):
        timed(commands[0], env)  # warm the file cache and the bytecode cache
        runs = [np.sum([timed(command, env)[:2] for command in commands], axis=0) for _ in range(repeats)]
        figures[name] = tuple(np.median(runs, axis=0))
    return figures


def dry_run_line(jobs: int, wall: float, cpu: float) -> str:
    return (f"{jobs:,} jobs, snakemake -n {wall:.1f} s wall, {cpu:.1f} s CPU ({1000 * cpu / jobs:.2f} ms CPU per job; "
            f"target for {DRY_RUN_TARGET_JOBS:,} jobs < {DRY_RUN_TARGET_S:.0f} s)")


def snakemake_setting() -> str:
    """Snakemake's version and whether the SLURM plugin is installed (where its import stalls, every dry run waits)."""
    plugin = importlib.util.find_spec("snakemake_executor_plugin_slurm") is not None
    return f"Snakemake {importlib.metadata.version('snakemake')}, SLURM plugin {'installed' if plugin else 'absent'}"


def markdown(figures: dict, repeats: int) -> str:
    """The page's block: each figure of `main` beside its target."""
    jobs, wall, _ = figures["default"]
    cell_wall, cell_cpu = figures["cells"][ONE_JOB]
    three_wall, three_cpu = figures["cells"][THREE_JOBS]
    seeds, large_jobs, large_wall, large_cpu = figures["large"]
    floor_wall, floor_cpu = figures["floor"]
    old_seeds, old_jobs, old_wall, old_cpu = figures["old grid"]
    # The dry-run target is for a grid of about 20,000 jobs; a smaller grid (a quick check) is not judged against it.
    large_target = (f"< {DRY_RUN_TARGET_S:.0f} s: {verdict(large_wall < DRY_RUN_TARGET_S)}"
                    if large_jobs >= 0.95 * DRY_RUN_TARGET_JOBS
                    else f"— (the target is for {DRY_RUN_TARGET_JOBS:,} jobs)")
    rows = [
        ["default grid's jobs (`snakemake -n`)",
         f"{jobs}; {JOBS_BEFORE} at `1d2977c` with one job per stage: {jobs / JOBS_BEFORE:.2f}× "
         f"(dry run {wall:.1f} s wall)",
         f"≤ 0.5×: {verdict(jobs / JOBS_BEFORE <= 0.5)}"],
        [f"one policy cell's job (1,000 × 6 × 2 exits, `patience`; median of {repeats})",
         f"**{cell_wall:.2f} s** wall, {cell_cpu:.2f} s CPU; "
         f"as three jobs: {three_wall:.2f} s wall, {three_cpu:.2f} s CPU",
         f"< {CELL_TARGET_S} s: {verdict(cell_wall < CELL_TARGET_S)}"],
        [f"`snakemake -n`, default runs × {seeds} seeds",
         f"{large_jobs:,} jobs: **{large_wall:.1f} s** wall, {large_cpu:.1f} s CPU "
         f"({1000 * large_cpu / large_jobs:.2f} ms CPU per job)", large_target],
        [f"Snakemake's floor: {large_jobs:,} jobs of a one-input, one-output rule",
         f"{floor_wall:.1f} s wall, {floor_cpu:.1f} s CPU ({1000 * floor_cpu / large_jobs:.2f} ms CPU per job); "
         f"the grid takes {large_wall / floor_wall:.1f}× the floor", "—"],
        [f"`snakemake -n`, default runs × {old_seeds} seeds (the grid that had 19,933 jobs with one job per stage)",
         f"{old_jobs:,} jobs: {old_wall:.1f} s wall, {old_cpu:.1f} s CPU",
         f"< {DRY_RUN_TARGET_S:.0f} s for that grid: {verdict(old_wall < DRY_RUN_TARGET_S)}"],
    ]
    return f"{figures['setting']}.\n\n" + markdown_table(["figure", "measured", "target"], rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="policy-cell timings (median)")
    parser.add_argument("--seeds", type=int,
                        help="seeds of the large grid (default: as many as give about 20,000 jobs with the default "
                             "grid's runs)")
    add_markdown_option(parser)
    args = parser.parse_args()
    measurement = Measurement.begin()
    env = job_env()
    figures = {"setting": snakemake_setting()}
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start; {figures['setting']}")
    default = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        figures["default"] = jobs, wall, cpu = dry_run(default, tmp / "default", env)
        print(f"default grid: {jobs} jobs (one job per stage: {JOBS_BEFORE}; ratio {jobs / JOBS_BEFORE:.2f}, "
              f"target <= 0.50); dry run {wall:.1f} s wall, {cpu:.1f} s CPU")

        (tmp / "cell").mkdir()
        figures["cells"] = cell_job_times(tmp / "cell", env, args.repeats)
        for name, (wall, cpu) in figures["cells"].items():
            print(f"{name}: {wall:.2f} s wall, {cpu:.2f} s CPU (median of {args.repeats}; "
                  f"target for one cell < {CELL_TARGET_S} s on an idle machine)")

        old_grid = dry_run({**default, "seeds": list(range(OLD_GRID_SEEDS))}, tmp / "old-grid", env)
        figures["old grid"] = OLD_GRID_SEEDS, *old_grid
        print(f"grid that had 19,933 jobs with one job per stage (default runs × {OLD_GRID_SEEDS} seeds): "
              f"{dry_run_line(*old_grid)}")

        # Unless told, as many seeds as make about 20,000 jobs now: the grid's jobs per seed change as it grows.
        seeds = args.seeds or round(OLD_GRID_SEEDS * DRY_RUN_TARGET_JOBS / old_grid[0])
        jobs, wall, cpu = dry_run({**default, "seeds": list(range(seeds))}, tmp / "large", env)
        figures["large"] = seeds, jobs, wall, cpu
        print(f"large grid (default runs × {seeds} seeds): {dry_run_line(jobs, wall, cpu)}")
        figures["floor"] = floor_wall, floor_cpu = floor_dry_run(jobs, tmp / "floor", env)
        print(f"  Snakemake's floor for {jobs:,} jobs of a one-input, one-output rule: "
              f"{floor_wall:.1f} s wall, {floor_cpu:.1f} s CPU ({1000 * floor_cpu / jobs:.2f} ms CPU per job)")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    if args.markdown:
        measurement.write(args.markdown, markdown(figures, args.repeats))


if __name__ == "__main__":
    main()
