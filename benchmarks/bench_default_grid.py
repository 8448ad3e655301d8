"""Benchmark: the README's main command on this machine — the embedded default grid (`config/config.yaml`) run by
Snakemake as `scripts/run.sh` runs it (`--cores all --scheduler greedy`), in a fresh folder. Prints the jobs, the
wall time, the CPU time of every process the run started, and the leaderboard headline of one task (default
`uci-sentiment`, the README's example), quoted from the run's own `tables/{task}_leaderboard.md`.

    python benchmarks/bench_default_grid.py [--task uci-sentiment] [--markdown FILE]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from bench_smoke import run_snakemake
from performance_page import Measurement, add_markdown_option

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "config" / "config.yaml"


def headline(leaderboard: Path) -> tuple[str, str]:
    """The first section of a leaderboard page (its backbone / strategy) and that section's headline paragraph."""
    section = None
    for line in leaderboard.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
        elif section and line.strip():
            return section, line.strip()
    raise SystemExit(f"bench_default_grid: '{leaderboard}' has no section with a headline")


def markdown(setting: str, task: str, section: str, text: str) -> str:
    return f"{setting}\n\nThe `{task}` leaderboard's headline ({section}), as the run wrote it:\n\n> {text}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="uci-sentiment", help="the task whose leaderboard headline is quoted")
    add_markdown_option(parser)
    args = parser.parse_args()
    from eebench import layout
    from eebench.config import load_config
    from eebench.report.rule_times import rule_times

    config = load_config(CONFIG)
    measurement = Measurement.begin()
    with tempfile.TemporaryDirectory() as tmp:
        wall, cpu = run_snakemake(Path(tmp), CONFIG, "the default grid", "--cores", "all", "--scheduler", "greedy")
        results = Path(tmp) / config["results_dir"]
        jobs = int(rule_times(results)["jobs"].sum())
        section, text = headline(results / layout.aggregate_outputs(args.task)["leaderboard_markdown"])
    import snakemake

    setting = (f"The default grid (`{CONFIG.relative_to(REPO)}`: {len(config['seeds'])} seeds), run in a fresh folder "
               f"by Snakemake {snakemake.__version__} with `--cores all` ({os.cpu_count()} CPUs), without the report: "
               f"**{jobs} jobs in {wall / 60:.1f} min** wall, {cpu / 60:.1f} CPU-min (every process the run started).")
    print(setting)
    print(f"{args.task} ({section}): {text}")
    if args.markdown:
        measurement.write(args.markdown, markdown(setting, args.task, section, text))


if __name__ == "__main__":
    main()
