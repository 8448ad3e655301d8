"""Issue 14's targets for the CPU reproduction grid (config/paper/cpu-reproduction.yaml), read from a finished run's
results and printed beside each target (Markdown, as docs/REPRODUCTION.md quotes them):

- SST-2 dev accuracy of MiniLM-L6 at the final exit >= 0.85; CoLA MCC >= 0.25 (tables/{task}.csv, `final` rows);
- every exit of the SST-2 model above 0.70 on dev (checks.json: per-exit test error of every run);
- on SST-2, an early-exit policy fitted on val reaching >= 1.5x layer speed-up within 1 point of the final exit on
  dev (tables/sst2.csv, mean over seeds; the leaderboard's test-sweep figure beside it);
- PCEE: on MNIST, test accuracy of the early-exited samples >= delta - 0.01 for every delta the final exit reaches
  (checks.json `pcee_targets`, per run).

    python benchmarks/cpu_reproduction_targets.py [results/cpu-reproduction]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from eebench import layout

REFERENCES = {"final", "static-k", "oracle"}  # rows that are not early-exit methods


def verdict(ok: bool) -> str:
    return "met" if ok else "**not met**"


def run_checks(results: Path, task: str) -> list[tuple[dict, dict]]:
    pattern = layout.CHECKS.format(task=task, backbone="*", strategy="*", seed="*")
    return [(layout.parse_run(path), json.loads(path.read_text())) for path in sorted(results.glob(pattern))]


def final_metric_rows(results: Path, task: str, target: float, name: str) -> list[str]:
    table = pd.read_csv(results / layout.TABLES["table"].format(task=task))
    rows = []
    for _, row in table[table["policy"] == "final"].iterrows():
        mean, std = row["metric_mean"], row["metric_std"]
        rows.append(f"| {task} {name} at the final exit ({row['backbone']}, {row['strategy']}, "
                    f"n = {row['n_seeds']} seeds) | ≥ {target} | {mean:.4f} ± {std:.4f} | {verdict(mean >= target)} |")
    return rows


def every_exit_rows(results: Path, task: str, floor: float) -> list[str]:
    rows = []
    for run, checks in run_checks(results, task):
        accuracy = [1 - error for error in checks["errors"]["test"]["error_rate"]]
        rows.append(f"| {task} every exit > {floor} ({run['backbone']}, {run['strategy']}, seed {run['seed']}) | "
                    f"> {floor} | {' '.join(f'{a:.3f}' for a in accuracy)} | {verdict(min(accuracy) > floor)} |")
    return rows


def speedup_rows(results: Path, task: str, speedup: float, drop: float) -> list[str]:
    table = pd.read_csv(results / layout.TABLES["table"].format(task=task))
    rows = []
    for (backbone, strategy), group in table.groupby(["backbone", "strategy"], sort=False):
        final = group.loc[group["policy"] == "final", "metric_mean"].iloc[0]
        methods = group[~group["policy"].isin(REFERENCES) & group["metric_mean"].notna()]
        close = methods[methods["metric_mean"] >= final - drop]
        best = close.loc[close["layer_speedup_mean"].idxmax()] if len(close) else None
        found = (f"{best['policy']}: {best['layer_speedup_mean']:.2f}× at {best['metric_mean']:.4f} "
                 f"(final {final:.4f})" if best is not None else f"no method within {drop} of final {final:.4f}")
        ok = best is not None and best["layer_speedup_mean"] >= speedup
        rows.append(f"| {task} fitted on val: ≥ {speedup}× within {drop} of the final exit ({backbone}, {strategy}) | "
                    f"≥ {speedup}× | {found} | {verdict(ok)} |")
    board = pd.read_csv(results / layout.TABLES["leaderboard_table"].format(task=task))
    rows.append(f"| {task} test sweep (leaderboard): {_leader(board)} | – | – | for reference |")
    return rows


def _leader(board: pd.DataFrame) -> str:
    return "; ".join(f"{row['group']}: {row['policy']} {row['speedup_at_tolerance']:.2f}×"
                     for _, row in board.groupby("group", sort=False).head(1).iterrows())


def pcee_rows(results: Path, task: str, slack: float) -> list[str]:
    rows = []
    for run, checks in run_checks(results, task):
        reachable = [t for t in checks["pcee_targets"] if t["status"] != "unattainable" and t["early_exit_accuracy"]]
        short = [t for t in reachable if t["early_exit_accuracy"] < t["delta"] - slack]
        found = ", ".join(f"δ {t['delta']:.2f}: {t['early_exit_accuracy']:.3f} ({t['early_exit_share']:.0%} early)"
                          for t in reachable)
        rows.append(f"| {task} PCEE early-exited accuracy ≥ δ − {slack} ({run['backbone']}, seed {run['seed']}; "
                    f"final {reachable[0]['final_exit_accuracy'] if reachable else float('nan'):.3f}) | "
                    f"every reachable δ | {found or 'no reachable δ'} | {verdict(bool(reachable) and not short)} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", nargs="?", type=Path, default=Path("results/cpu-reproduction"))
    results = parser.parse_args().results
    print("| target | goal | measured | verdict |\n|---|---|---|---|")
    for row in (*final_metric_rows(results, "sst2", 0.85, "accuracy"), *final_metric_rows(results, "cola", 0.25, "MCC"),
                *every_exit_rows(results, "sst2", 0.70), *speedup_rows(results, "sst2", 1.5, 0.01),
                *pcee_rows(results, "mnist", 0.01)):
        print(row)


if __name__ == "__main__":
    main()
