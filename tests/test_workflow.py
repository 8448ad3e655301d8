"""End-to-end: the Snakemake DAG on a tiny grid in a temp dir whose path holds a space and a quote (every path in
the rules is quoted) — tables, charts, report, idempotence, one-cell reruns and a clear error for a bad config."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
POLICIES = ["final", "static-k", "maxprob", "entropy", "patience", "ucb", "oracle"]

TINY = {
    "results_dir": "my results",
    "seeds": [0, 1],
    "experiments": [
        {
            "task": "digits",
            "backbones": ["mlp"],
            "strategies": ["joint"],
            "training": {"epochs": 3, "lr": 0.003, "batch_size": 64, "warmup_ratio": 0.0},
        }
    ],
    "tasks": {"digits": {}},
    "policies": {name: {} for name in POLICIES},
    "policy_fit": {"tolerance": 0.02, "curve_points": 8},
}


def snakemake(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    command = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(workdir),
               "--configfile", str(workdir / "config.yaml"), "--cores", "2", *args]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake failed ({result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-6000:]}")
    return result


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("dag with space and 'quote")
    (workdir / "config.yaml").write_text(yaml.safe_dump(TINY, sort_keys=False))
    snakemake(workdir)
    return workdir


@pytest.mark.slow
def test_dag_writes_tables_with_one_row_per_policy(tiny_run):
    table = pd.read_csv(tiny_run / TINY["results_dir"] / "tables" / "digits.csv")
    # ucb also reports the best fixed threshold in hindsight, as the row after its own, and the oracle its least
    # depth within the tolerance (the leaderboard's limit)
    assert list(table["policy"]) == [*POLICIES[:6], "ucb · best fixed in hindsight", "oracle",
                                     "oracle · least depth within tolerance"]
    assert (table["n_seeds"] == 2).all()
    final = table.set_index("policy").loc["final"]
    assert final["layer_speedup_mean"] == pytest.approx(1.0)
    assert final["metric_mean"] > 0.5  # a 3-epoch MLP on digits is far above chance (0.1)
    assert (table["layer_speedup_mean"] >= 1.0 - 1e-9).all()
    oracle = table.set_index("policy").loc["oracle"]
    assert oracle["metric_mean"] >= final["metric_mean"]  # the oracle exits early only where it is right
    markdown = (tiny_run / TINY["results_dir"] / "tables" / "digits.md").read_text()
    assert "±" in markdown and all(policy in markdown for policy in POLICIES)
    for suffix in (".html", ".png"):
        assert (tiny_run / TINY["results_dir"] / "plots" / f"digits{suffix}").stat().st_size > 1000


@pytest.mark.slow
def test_second_run_does_nothing(tiny_run):
    result = snakemake(tiny_run)
    assert "Nothing to be done" in result.stdout + result.stderr


def job_stats(log: str) -> dict[str, int]:
    """The 'Job stats' table Snakemake prints before running: rule -> number of jobs."""
    block = log.split("Job stats:", 1)[1].split("total", 1)[0]
    rows = [line.split() for line in block.splitlines()[3:] if line.strip()]
    return {row[0]: int(row[1]) for row in rows}


@pytest.mark.slow
def test_single_cell_rerun_rebuilds_only_that_cell(tiny_run):
    cell = tiny_run / TINY["results_dir"] / "runs" / "digits" / "mlp" / "joint" / "seed1" / "policies" / "patience" / "test.json"
    before = cell.read_text()
    cell.unlink()
    result = snakemake(tiny_run, str(cell.relative_to(tiny_run)))
    assert job_stats(result.stdout + result.stderr) == {"policy_cell": 1}  # the cell's fit, test and curve, nothing else
    assert cell.read_text() == before  # same inputs, same numbers


@pytest.mark.slow
def test_report_renders_offline(tiny_run):
    report = tiny_run / TINY["results_dir"] / "report.html"
    snakemake(tiny_run, "--report", str(report))
    html = report.read_text(errors="replace")
    assert "digits" in html and len(html) > 10_000


def test_bad_config_stops_the_workflow_with_a_clear_message(tmp_path):
    bad = {**TINY, "experiments": [{**TINY["experiments"][0], "task": "imaginary"}]}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(bad, sort_keys=False))
    result = snakemake(tmp_path, "-n", check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "experiments[0].task" in output and "'imaginary'" in output and "digits" in output
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("results_dir", ["$(touch pwned)", "out; touch pwned", "`touch pwned`", "", "-rf"])
def test_hostile_results_dir_is_rejected_and_nothing_runs(tmp_path, results_dir):
    (tmp_path / "config.yaml").write_text(yaml.safe_dump({**TINY, "results_dir": results_dir}, sort_keys=False))
    result = snakemake(tmp_path, check=False)
    assert result.returncode != 0
    assert "field 'results_dir'" in result.stdout + result.stderr
    assert sorted(path.name for path in tmp_path.iterdir() if path.name != ".snakemake") == ["config.yaml"]


@pytest.mark.parametrize(
    "config_file", sorted(str(p.relative_to(REPO)) for p in (REPO / "config").rglob("*.yaml")), ids=str
)
def test_every_shipped_config_builds_its_dag(tmp_path, config_file):
    """The default and the paper grids pass `snakemake -n` (a dry run: the DAG is built, nothing is read)."""
    (tmp_path / "config.yaml").write_text((REPO / config_file).read_text())
    result = snakemake(tmp_path, "-n")
    stats = job_stats(result.stdout + result.stderr)
    assert stats["train"] >= 1 and stats["predict_run"] == stats["train"] and stats["policy_cell"] >= stats["train"]
    assert stats["aggregate"] >= 1
    if config_file == "config/paper/cpu-reproduction.yaml":
        # SST-2 × 2 strategies, CoLA, RTE, MNIST × 2 sizes, 3 seeds; 22 policies on every run, `lte` on `alternating`
        assert stats["train"] == 18 and stats["policy_cell"] == 18 * 22 + 3 and stats["aggregate"] == 4
    if config_file == "config/config.yaml":
        assert stats["aggregate"] == 4  # digits, synth-sentiment, the shipped UCI sentences and shapes-captions
        # one job per run for its exits and costs, one per policy cell: 189 jobs before captioning joined (the
        # one-job-per-stage layout had 493); shapes-captions adds prepare, aggregate, 2 × (train, predict_run,
        # check, latency) and 2 × 14 policy cells (lte needs the `alternating` strategy's heads)
        assert sum(stats.values()) == 189 + 2 + 2 * 4 + 2 * 14


@pytest.mark.slow
def test_reproduction_report_is_generated_from_the_results(tiny_run):
    config = tiny_run / "config.yaml"
    result = subprocess.run([sys.executable, "-m", "eebench.cli", "reproduction-report",
                             str(tiny_run / TINY["results_dir"]), "--config", str(config), "--title", "Tiny grid"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    document = result.stdout
    assert document.startswith("# Tiny grid\n")
    for stamp in ("| date ", "| eebench commit ", "| machine ", "| command ", "| wall time "):
        assert stamp in document
    assert f"--configfile {config}" in document and "first job's start to last job's end" in document
    # the task's own page, one heading level down: leaderboard, verdicts, tables
    assert "\n## digits\n" in document and "\n### Leaderboard\n" in document and "\n### Paper vs eebench\n" in document
    assert "is the fastest method within a drop of" in document


@pytest.mark.slow
def test_every_table_of_the_report_is_a_page(tiny_run):
    """The report shows HTML (a CSV entry would only download): each table has a page with a drawn table."""
    tables = tiny_run / TINY["results_dir"] / "tables"
    for name in ("digits.html", "digits_data.html", "digits_checks.html", "digits_latency.html"):
        page = (tables / name).read_text(encoding="utf-8")
        assert page.startswith("<!DOCTYPE html>") and ("<table" in page or "<p>None.</p>" in page), name
    assert "maxprob" in (tables / "digits.html").read_text(encoding="utf-8")
