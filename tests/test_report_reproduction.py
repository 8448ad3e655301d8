"""The generated reproduction document's own figures: the grid's wall time from the benchmark files, and a clear
error when a task's tables are missing."""

from __future__ import annotations

import os

import pytest

from eebench.errors import DataError
from eebench.report.reproduction import grid_wall_time, task_section


def benchmark(root, rule, name, seconds, ended_at):
    path = root / "benchmarks" / rule / f"{name}.tsv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"s\th:m:s\tmax_rss\tcpu_time\n{seconds}\t0:00:00\t10\t1\n")
    os.utime(path, (ended_at, ended_at))


def test_wall_time_spans_the_first_start_to_the_last_end(tmp_path):
    # train ran 100 s and ended at t = 1100 (start 1000); a policy cell ran 2 s and ended at 1300: 300 s in all
    benchmark(tmp_path, "train", "a", 100.0, 1100.0)
    benchmark(tmp_path, "policy_cell", "b", 2.0, 1300.0)
    assert grid_wall_time(tmp_path) == (pytest.approx(300.0), 2)
    assert grid_wall_time(tmp_path / "empty") is None


def test_a_task_without_tables_is_named(tmp_path):
    with pytest.raises(DataError, match=r"tables/digits\.md': file not found; the grid's aggregate for task 'digits'"):
        task_section(tmp_path, "digits")
    (tmp_path / "tables").mkdir()
    (tmp_path / "tables" / "digits.md").write_text("# digits\n\n## Leaderboard\n\ntext\n")
    assert task_section(tmp_path, "digits") == "## digits\n\n### Leaderboard\n\ntext"
