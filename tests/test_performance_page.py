"""docs/performance.md's figures are generated (benchmarks/performance_page.py): its blocks are replaced and its prose
kept, a broken marker stops the script with one line naming the file and the marker, and each benchmark's Markdown
is checked on hand-made figures (no benchmark runs here)."""

from __future__ import annotations

import datetime as dt
import importlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS = REPO / "benchmarks"

PAGE = """# Title

Prose that explains the method.

<!-- generated: bench_a -->

old figures of a

<!-- end generated -->

More prose, kept.

<!-- generated: bench_b -->
<!-- end generated -->

Closing prose.
"""


@pytest.fixture
def scripts(monkeypatch):
    """Imports benchmarks/{name}.py; the scripts import performance_page from their own folder."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    return importlib.import_module


@pytest.fixture
def page_module(scripts):
    return scripts("performance_page")


def test_splice_replaces_each_block_and_keeps_the_prose(page_module, tmp_path):
    page = tmp_path / "performance.md"
    text = page_module.splice(PAGE, "bench_a", "| a |\n|---|\n| 1 |", page)
    text = page_module.splice(text, "bench_b", "b's figures", page)
    assert "old figures of a" not in text
    assert "| a |\n|---|\n| 1 |" in text and "b's figures" in text
    for prose in ("# Title", "Prose that explains the method.", "More prose, kept.", "Closing prose."):
        assert prose in text
    assert text.count("<!-- end generated -->") == 2 and "<!-- generated: bench_a -->" in text
    # a second regeneration changes the block only
    assert page_module.splice(text, "bench_a", "| a |\n|---|\n| 2 |", page) == text.replace("| 1 |", "| 2 |")


@pytest.mark.parametrize("broken, name, complaint", [
    (PAGE.replace("<!-- generated: bench_b -->\n", ""), "bench_b", "no '<!-- generated: bench_b -->' marker"),
    (PAGE.replace("old figures of a\n\n<!-- end generated -->", ""), "bench_a",
     "'<!-- generated: bench_a -->' is not closed by '<!-- end generated -->'"),
    (PAGE.rsplit("<!-- end generated -->", 1)[0], "bench_b",
     "'<!-- generated: bench_b -->' is not closed by '<!-- end generated -->'"),
    (PAGE + "<!-- generated: bench_a -->\n<!-- end generated -->\n", "bench_a",
     "'<!-- generated: bench_a -->' occurs 2 times"),
])
def test_a_missing_or_unclosed_marker_is_a_one_line_error_naming_the_file_and_the_marker(
        page_module, tmp_path, broken, name, complaint):
    page = tmp_path / "performance.md"
    with pytest.raises(page_module.PageError) as error:
        page_module.splice(broken, name, "figures", page)
    assert str(error.value) == f"{page}: {complaint}"


def test_the_script_stops_on_a_broken_page_before_running_any_benchmark(tmp_path):
    page = tmp_path / "performance.md"
    page.write_text(PAGE, encoding="utf-8")
    done = subprocess.run([sys.executable, str(BENCHMARKS / "performance_page.py"), "--page", str(page),
                           "--only", "bench_policies", "--quick"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == f"{page}: no '<!-- generated: bench_policies -->' marker\n"


def test_regenerate_writes_each_block_with_the_benchmarks_markdown(page_module, tmp_path, monkeypatch):
    page = tmp_path / "performance.md"
    page.write_text(PAGE.replace("bench_a", "bench_dag").replace("bench_b", "bench_policies"), encoding="utf-8")
    ran = []

    def fake_benchmark(name, options, markdown):
        ran.append((name, options))
        markdown.write_text(f"*stamp of {name}*\n\n| {name} |\n|---|\n", encoding="utf-8")

    monkeypatch.setattr(page_module, "run_benchmark", fake_benchmark)
    page_module.regenerate(page, ["bench_policies", "bench_dag"], quick=True)
    text = page.read_text(encoding="utf-8")
    assert ran == [(name, page_module.BENCHMARKS[name].quick_options) for name in ("bench_policies", "bench_dag")]
    assert "old figures" not in text and "*stamp of bench_dag*" in text and "| bench_policies |" in text
    assert text.count(page_module.QUICK_NOTE) == 2 and "More prose, kept." in text


def test_every_benchmark_has_its_block_on_its_page_holding_a_stamped_measurement(page_module):
    """Each block is written by its benchmark, never left empty or by hand without the stamp that says when, at which
    commit and on which machine it was measured."""
    for name, benchmark in page_module.BENCHMARKS.items():
        text = benchmark.page.read_text(encoding="utf-8")
        content, end = page_module.block_span(text, name, benchmark.page)
        block = text[content:end].strip()
        assert block.startswith("*Measured "), f"{benchmark.page}: block {name} has no measurement"
        assert "at eebench `" in block.split("\n", 1)[0], name


def test_the_stamp_names_date_commit_machine_load_and_the_command_without_the_markdown_file(page_module):
    command = page_module.command_line([str(BENCHMARKS / "bench_dag.py"), "--seeds", "2", "--markdown", "/tmp/x.md",
                                        "--repeats", "1"])
    assert command == "python benchmarks/bench_dag.py --seeds 2 --repeats 1"
    measurement = page_module.Measurement(command, dt.datetime(2026, 12, 6, 4, 30, tzinfo=dt.timezone.utc),
                                          "`abc1234`", (0.5, 0.25, 0.125))
    stamp = measurement.stamp((1.0, 0.75, 0.5), 42.4, "a 2-core test machine")
    assert stamp == ("*Measured 2026-12-06 04:30 UTC, 42 s, by `python benchmarks/bench_dag.py --seeds 2 --repeats 1` "
                     "at eebench `abc1234`. Machine: a 2-core test machine. Load average (1, 5, 15 min): 0.50 0.25 "
                     "0.12 at the start, 1.00 0.75 0.50 at the end.*")


def test_bench_policies_markdown(scripts):
    bench = scripts("bench_policies")
    row = {"policy": "maxprob", "knob": "0.95", "mean exit": "6.34", "eebench s": "0.0430", "loop s": "2.400",
           "loop / eebench": "56x"}
    text = bench.markdown({"fit_simulate_s": 0.62, "loop_s": 2.1, "identical": True}, [row],
                          bench.setting(10_000, 12, 2, 5))
    assert "| `ucb` fit + simulate (stream path) | 0.620 s | < 0.5 s: **not met** |" in text
    assert "| maxprob | 0.95 | 6.34 | 0.0430 | 2.400 | 56x |" in text
    assert "Fit on 10,000 val samples" in text


def test_bench_dag_markdown_judges_the_dry_run_only_at_about_20000_jobs(scripts):
    bench = scripts("bench_dag")
    figures = {"setting": "Snakemake 9.27.1, SLURM plugin absent", "default": (227, 3.0, 2.9),
               "cells": {bench.ONE_JOB: (0.13, 0.21), bench.THREE_JOBS: (0.35, 0.57)},
               "old grid": (82, 8947, 11.5, 11.6), "large": (183, 19_970, 24.0, 24.1), "floor": (12.0, 12.1)}
    text = bench.markdown(figures, repeats=5)
    assert "| default grid's jobs (`snakemake -n`) | 227; 493 at `1d2977c` with one job per stage: 0.46×" in text
    assert "**0.13 s** wall, 0.21 s CPU; as three jobs: 0.35 s wall, 0.57 s CPU | < 0.5 s: met |" in text
    assert "19,970 jobs: **24.0 s** wall" in text and "< 20 s: **not met** |" in text
    assert "the grid takes 2.0× the floor" in text and "< 20 s for that grid: met |" in text
    small = bench.markdown({**figures, "large": (2, 227, 2.3, 1.7)}, repeats=1)
    assert "— (the target is for 20,000 jobs)" in small


def test_bench_training_markdown(scripts):
    bench = scripts("bench_training")
    names = [name for name, _, _ in bench.MODES]
    rates = dict(zip(names, ([40.0, 44.0], [57.0, 57.2], [100.0, 110.0])))
    losses = dict(zip(names, (np.array([0.7, 0.6]), np.array([0.7, 0.6]), np.array([0.7, 0.6002]))))
    text = bench.markdown(["MiniLM-L6 fine-tuning", "1 thread(s)"], rates, losses, batch_order=(20.0, 50.0))
    assert text.startswith("MiniLM-L6 fine-tuning; 1 thread(s).")
    assert "| new step, auto | 105.0 | 2.50x | 0.6501 | 2.0e-04 | 100.0, 110.0 |" in text
    assert "another random stream" in text  # why the new step's losses are not the old one's step by step
    assert "**2.50x** (target ≥ 1.6x: met)" in text and "**2.50x** (target ≥ 2.0x: met)" in text


def test_bench_early_exit_markdown(scripts):
    bench = scripts("bench_early_exit")
    now = {"layer": 2.5, "wall": 2.29, "token": 2.37, "ratio": 0.916, "bound": 0.917, "spread": [0.909, 0.916]}
    figures = [{"mode": "batch size 1", "now": now, "numpy": 0.869,
                "user": {"eebench": 3.72, "loop": 3.75, "ratio": 1.008, "spread": (0.89, 1.07)}},
               {"mode": "batched", "now": {**now, "ratio": 0.86}, "numpy": 0.79}]
    text = bench.markdown("MiniLM-L6, 200 SST-2 dev sentences", figures, batch_size=32)
    assert "| 2.50x | 1 | **0.916** | 0.909–0.916 | 0.869 | 0.917 | 0.966 | ≥ 0.92: **not met** |" in text
    assert "| 2.50x | 32 | **0.860** |" in text and "≥ 0.85: met |" in text
    assert "| 2.50x | 3.720 | 3.750 | **1.008** | 0.890–1.070 |" in text


def test_bench_sst2_epoch_markdown_judges_time_and_accuracy_together(scripts):
    bench = scripts("bench_sst2_epoch")
    old = {"precision": "fp32", "seconds": 1500.0, "examples_per_second": 40.4, "accuracy": [0.80, 0.88],
           "predictions": [[0, 1, 1], [1, 1, 0]]}
    new = {"precision": "bf16", "seconds": 600.0, "examples_per_second": 101.0, "accuracy": [0.81, 0.875],
           "predictions": [[0, 1, 0], [0, 0, 0]]}
    text = bench.markdown(["SST-2 epoch"], {"old": old, "new": new})
    assert "| new step, auto | bf16 | 10.0 min | 101.0 | 0.810 / 0.875 |" in text
    assert "| predictions that differ |  |  |  | 1 / 2 |" in text
    assert "**2.50x**; final-exit accuracy new − old: -0.005" in text and "≤ 0.01: met)" in text
    worse = bench.markdown(["SST-2 epoch"], {"old": old, "new": {**new, "accuracy": [0.81, 0.86]}})
    assert "≤ 0.01: **not met**)" in worse  # faster, but not at equal accuracy
    slower = bench.markdown(["SST-2 epoch"], {"old": old, "new": {**new, "seconds": 800.0}})
    assert "**1.88x**" in slower and "**not met**" in slower


def test_probe_pooling_markdown_has_a_row_per_layer_and_a_column_per_reading(scripts):
    bench = scripts("probe_pooling")
    figures = {"probe": {"cls": [0.5, 0.71], "mean": [0.69, 0.9]}, "trained": {"cls": [0.5, 1.0], "mean": [0.62, 0.98]}}
    text = bench.markdown("synth-sentiment", figures)
    assert "| layer | probe, [CLS] | probe, mean | trained, [CLS] | trained, mean |" in text
    assert "| 1 | 0.500 | 0.690 | 0.500 | 0.620 |" in text and "| 2 | 0.710 | 0.900 | 1.000 | 0.980 |" in text


def test_bench_smoke_markdown_gives_each_grids_cost_and_the_total(scripts):
    bench = scripts("bench_smoke")
    figures = [{"grid": "survey", "runs": 4, "cells": 28, "jobs": 44, "wall": 95.2, "cpu": 88.0,
                "rules": [("train", 4, 30.4), ("policy_cell", 28, 20.0)]},
               {"grid": "beem-coco", "runs": 2, "cells": 18, "jobs": 31, "wall": 84.8, "cpu": 125.0, "rules": []}]
    text = bench.markdown("setting", figures)
    assert "| `survey` | 4 | 28 | 44 | 95 s | 88 s | 2.0 s | train 4 × → 30 s, policy_cell 28 × → 20 s |" in text
    assert "All 2 grids: 3.0 min wall, 3.5 CPU-min." in text


def test_bench_default_grid_quotes_the_first_sections_headline(scripts, tmp_path):
    bench = scripts("bench_default_grid")
    page = tmp_path / "leaderboard.md"
    page.write_text("# t: leaderboard\n\nHeadline figures: how to read.\n\n## mlp / joint\n\n**pcee** is the fastest"
                    " method.\n\n| rank |\n\n## mlp / alternating\n\n**final** leads.\n", encoding="utf-8")
    assert bench.headline(page) == ("mlp / joint", "**pcee** is the fastest method.")
    text = bench.markdown("The default grid: 226 jobs.", "t", "mlp / joint", "**pcee** is the fastest method.")
    assert text.endswith("The `t` leaderboard's headline (mlp / joint), as the run wrote it:\n\n> **pcee** is the "
                         "fastest method.")
    page.write_text("# t: leaderboard\n\nno sections\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="has no section with a headline"):
        bench.headline(page)
