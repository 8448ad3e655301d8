"""The generated reproduction document's own figures: the grid's wall time from the benchmark files, and a clear
error when a task's tables are missing."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from eebench.errors import DataError
from eebench.report.reproduction import grid_wall_time, task_section


def benchmark(root, rule, name, seconds, ended_at):
    path = root / "benchmarks" / rule / f"{name}.tsv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"s\th:m:s\tmax_rss\tcpu_time\n{seconds}\t0:00:00\t10\t1\n")
    os.utime(path, (ended_at, ended_at))


def test_wall_time_spans_the_first_start_to_the_last_end(tmp_path):
    # train ran 100 s and ended at t = 1100 (start 1000); a policy cell ran 2 s and ended at 1130: 130 s in all
    benchmark(tmp_path, "train", "a", 100.0, 1100.0)
    benchmark(tmp_path, "policy_cell", "b", 2.0, 1130.0)
    assert grid_wall_time(tmp_path) == (pytest.approx(130.0), 2, 1)
    assert grid_wall_time(tmp_path / "empty") is None


def test_wall_time_leaves_out_the_time_between_invocations(tmp_path):
    # the grid: jobs 1000–1100, 1050–1300 and 1310–1312 (10 s after the last ended: scheduling, same invocation);
    # an aggregate rerun an hour later, 5000–5030: 312 + 30 s over two invocations, not 4,030
    benchmark(tmp_path, "train", "a", 100.0, 1100.0)
    benchmark(tmp_path, "train", "b", 250.0, 1300.0)
    benchmark(tmp_path, "policy_cell", "c", 2.0, 1312.0)
    benchmark(tmp_path, "aggregate", "d", 30.0, 5030.0)
    assert grid_wall_time(tmp_path) == (pytest.approx(342.0), 4, 2)


def test_a_task_without_tables_is_named(tmp_path):
    with pytest.raises(DataError, match=r"tables/digits\.md': file not found; the grid's aggregate for task 'digits'"):
        task_section(tmp_path, "digits")
    (tmp_path / "tables").mkdir()
    (tmp_path / "tables" / "digits.md").write_text("# digits\n\n## Leaderboard\n\ntext\n")
    assert task_section(tmp_path, "digits") == "## digits\n\n### Leaderboard\n\ntext"


def _grid(root, name: str, task: str):
    import yaml

    results = root / f"results-{name}"
    (results / "tables").mkdir(parents=True)
    (results / "tables" / f"{task}.md").write_text(f"# {task}\n\n## Leaderboard\n\n{name} text\n")
    config = root / f"{name}.yaml"
    config.write_text(f"# The {name} grid:\n# - differs from the paper in\n#   its data\n\n" + yaml.safe_dump({"results_dir": str(results), "seeds": [0], "policies": {"final": {}},
                                      "experiments": [{"task": task, "backbones": ["mlp"], "strategies": ["joint"]}]}))
    return results, config


def test_several_grids_make_one_document_with_each_grids_stamps_and_tasks(tmp_path):
    """The CPU reproduction is its main grid and BranchyNet's own: one document, each grid's command, wall time,
    setting and tasks in order."""
    from eebench.report.reproduction import reproduction_report

    grids = [_grid(tmp_path, "main", "digits"), _grid(tmp_path, "branchynet", "mnist")]
    benchmark(grids[1][0], "train", "a", 60.0, 1060.0)
    document = reproduction_report(grids)
    assert document.startswith("# Reproduction: main + branchynet\n")
    for name in ("main", "branchynet"):
        assert f"| command ({name}) " in document and f"--configfile {tmp_path / name}.yaml" in document
        assert f"## Setting: {name}" in document and f"## Per-rule times: {name}" in document
    assert "| wall time (main) " in document and "no job of this grid has run" in document
    assert "1.0 min over 1 jobs" in document
    # each grid's leading comment (its setting and differences from the paper) opens its setting section
    assert "## Setting: branchynet\n\nThe branchynet grid:\n- differs from the paper in\n  its data\n\n|" in document
    assert document.index("## digits") < document.index("## Setting: branchynet") < document.index("## mnist")


def test_the_stage_pairs_each_results_folder_with_its_config(tmp_path):
    from eebench.errors import ConfigError
    from eebench.stages import STAGES

    (results, config), (other, _) = _grid(tmp_path, "main", "digits"), _grid(tmp_path, "more", "mnist")
    with pytest.raises(ConfigError, match="2 results folders but 1 --config files"):
        STAGES["reproduction-report"]([results, other], config=[config])
    out = tmp_path / "REPRODUCTION.md"
    STAGES["reproduction-report"]([results], config=[config], out=out, title="One grid")
    assert out.read_text().startswith("# One grid\n") and "| command " in out.read_text()


def test_targets_sit_beside_the_measured_figures_and_the_published_final_layer(tmp_path):
    """sst2's final exit over 2 seeds 0.885 ± 0.005 against ≥ 0.88 (met); one run's exits 0.70 … 0.89 against
    ≥ 0.75 (not met); the published final-layer figures of sst2 as references."""
    from eebench.report.reproduction import targets_table

    (tmp_path / "tables").mkdir()
    pd.DataFrame([{"backbone": "minilm-l6", "strategy": "joint", "policy": "final", "metric_mean": 0.885,
                   "metric_std": 0.005, "n_seeds": 2}]).to_csv(tmp_path / "tables" / "sst2.csv", index=False)
    (tmp_path / "data" / "sst2").mkdir(parents=True)
    (tmp_path / "data" / "sst2" / "info.json").write_text('{"metric": "accuracy"}')
    checks = tmp_path / "runs" / "sst2" / "minilm-l6" / "joint" / "seed0" / "checks.json"
    checks.parent.mkdir(parents=True)
    checks.write_text('{"errors": {"test": {"error_rate": [0.30, 0.2, 0.11]}}}')
    table = targets_table(tmp_path, [{"task": "sst2", "figure": "final-exit", "at_least": 0.88},
                                     {"task": "sst2", "figure": "every-exit", "at_least": 0.75}])
    final, every = table.splitlines()[2:4]
    assert "sst2 accuracy at the final exit (minilm-l6, joint, 2 seeds)" in final and "0.8850 ± 0.0050" in final
    assert final.rstrip(" |").endswith("met")
    assert "(minilm-l6, joint, seed 0)" in every and "0.700 0.800 0.890" in every and "**not met**" in every
    references = table.split("references, never judged):\n\n", 1)[1].splitlines()
    assert "- sst2: minilm-l6-h384 91.5 (MiniLM (Wang et al. 2020); microsoft/unilm minilm/README.md" in "\n".join(
        references)


def test_the_commit_stamp_marks_uncommitted_code_not_rewritten_documents(tmp_path):
    import subprocess

    from eebench.report.reproduction import commit_of

    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    git("init", "-q")
    for path in ("src/eebench/a.py", "docs/performance.md", "config/README.md", "README.md"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("one\n")
    git("add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "first")
    for page in ("docs/performance.md", "config/README.md", "README.md"):
        (tmp_path / page).write_text("a page the benchmarks rewrite\n")
    assert commit_of(tmp_path).endswith("`") and "uncommitted" not in commit_of(tmp_path)
    (tmp_path / "src" / "eebench" / "a.py").write_text("two\n")
    assert commit_of(tmp_path).endswith(" with uncommitted changes to its code")
    assert commit_of(tmp_path / "docs").endswith(" with uncommitted changes to its code")  # from any folder of it
