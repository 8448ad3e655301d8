"""`eebench rule-times`: per-rule figures from hand-made Snakemake benchmark files, with CPU time and memory left
empty for the jobs Snakemake did not sample."""

import math

from eebench import layout
from eebench.report.rule_times import format_rule_times, rule_times

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def write_benchmark(results, rule, name, wall, rss, cpu):
    path = results / layout.BENCHMARKS / rule / f"{name}.tsv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + f"{wall}\t0:00:00\t{rss}\t10.0\t1.0\t2.0\t0.00\t0.00\t0.00\t{cpu}\n")


def test_unsampled_jobs_count_for_wall_time_only(tmp_path):
    write_benchmark(tmp_path, "train", "seed0", 40.0, 1000.0, 35.5)
    write_benchmark(tmp_path, "train", "seed1", 50.0, 1100.0, 44.5)
    write_benchmark(tmp_path, "policy_cell", "a", 0.3, 5.75, 0.0)  # seen only at its start
    write_benchmark(tmp_path, "policy_cell", "b", 0.4, "NA", "NA")  # gone before the first sample
    write_benchmark(tmp_path, "check", "short", 0.45, 7.19, 0.01)  # the shell's CPU at its start
    write_benchmark(tmp_path, "check", "zero", 0.6, 6.0, 0.0)
    write_benchmark(tmp_path, "check", "long", 0.7, 63.0, 0.5)

    table = rule_times(tmp_path).set_index("rule")

    assert table.loc["train", ["jobs", "wall_s", "cpu_s", "max_rss_mib", "sampled"]].tolist() == [2, 90.0, 80.0,
                                                                                                  1100.0, 2]
    cell = table.loc["policy_cell"]
    assert (cell["jobs"], cell["wall_s"], cell["sampled"]) == (2, 0.7, 0)
    assert math.isnan(cell["cpu_s"]) and math.isnan(cell["max_rss_mib"])
    check = table.loc["check"]
    assert (check["jobs"], check["cpu_s"], check["max_rss_mib"], check["sampled"]) == (3, 0.5, 63.0, 1)
    assert list(table.index) == ["train", "check", "policy_cell"]  # by summed wall time


def test_format_prints_a_dash_not_zero_for_unsampled_rules(tmp_path):
    write_benchmark(tmp_path, "train", "seed0", 40.0, 1000.0, 35.0)
    write_benchmark(tmp_path, "policy_cell", "a", 0.3, 5.75, 0.0)
    write_benchmark(tmp_path, "policy_cell", "b", 0.2, 5.0, 0.0)

    text = format_rule_times(tmp_path)

    cell_row = next(line for line in text.splitlines() if line.strip().startswith("policy_cell"))
    assert cell_row.split()[-3:] == ["–", "–", "0"]
    assert "35 CPU-s over the 1 sampled jobs (2 jobs" in text


def test_no_benchmark_files(tmp_path):
    assert rule_times(tmp_path).empty
    assert "no benchmark files" in format_rule_times(tmp_path)


def test_a_partial_rerun_reports_its_own_jobs_and_says_so(tmp_path):
    import os

    write_benchmark(tmp_path, "train", "seed0", 40.0, 1000.0, 35.0)  # the whole grid, an hour ago
    write_benchmark(tmp_path, "policy_cell", "a", 0.8, 50.0, 0.6)
    for name in ("seed0", "a"):
        rule = "train" if name == "seed0" else "policy_cell"
        os.utime(tmp_path / layout.BENCHMARKS / rule / f"{name}.tsv", (1000.0, 1000.0))
    write_benchmark(tmp_path, "policy_cell", "b", 0.9, 51.0, 0.7)  # this invocation's one cell, just now
    started = (tmp_path / layout.BENCHMARKS / "policy_cell" / "b.tsv").stat().st_mtime - 5

    table = rule_times(tmp_path, since=started)
    assert table[["rule", "jobs"]].values.tolist() == [["policy_cell", 1]]
    text = format_rule_times(tmp_path, since=started)
    assert "this invocation's 1 of the 3 jobs in it" in text and "train" not in text
    assert "no job ran in this invocation" in format_rule_times(tmp_path, since=started + 3600)
