"""Paper grids that cannot rot: every `config/paper/*.yaml` runs end to end in smoke mode (same tasks, strategies
and policies; tiny random-init backbones of the same families; tiny files in the real data layouts), and the
transformation itself keeps the grid's components."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from eebench import catalogue, layout
from eebench.config import cells, load_config, runs, skip_reason
from eebench.smoke import CHECKPOINT_DEPTHS, STAND_INS, smoke_config
from eebench.stages import STAGES
from test_workflow import REPO, job_stats, snakemake

# The classification paper grids (beem-coco is the captioning track's, run by workflow/captioning.smk)
PAPER_CONFIGS = sorted(p for p in (REPO / "config" / "paper").glob("*.yaml") if p.stem != "beem-coco")


def shrink(config_file: Path, tmp_path: Path) -> dict:
    return smoke_config(load_config(config_file), tmp_path / "data", "smoke results", source=str(config_file))


@pytest.mark.parametrize("config_file", PAPER_CONFIGS, ids=lambda p: p.stem)
def test_smoke_grid_keeps_every_task_strategy_policy_and_exit(config_file, tmp_path):
    paper, smoke = load_config(config_file), shrink(config_file, tmp_path)
    assert [e["task"] for e in smoke["experiments"]] == [e["task"] for e in paper["experiments"]]
    assert [e["strategies"] for e in smoke["experiments"]] == [e["strategies"] for e in paper["experiments"]]
    assert smoke["policies"] == paper["policies"] and smoke["seeds"] == paper["seeds"][:1]
    # one run per paper backbone (two of a family stay two), and the same policy cells per run
    assert [len(e["backbones"]) for e in smoke["experiments"]] == [len(e["backbones"]) for e in paper["experiments"]]
    paper_runs = [r for r in runs(paper) if r.seed == paper["seeds"][0]]
    assert len(cells(smoke, runs(smoke))) == len(cells(paper, paper_runs))
    for experiment in smoke["experiments"]:
        assert experiment["training"]["epochs"] == 1
        for name in experiment["backbones"]:
            assert catalogue.get("backbone", name).target.kind != "pretrained"
    for task, options in smoke["tasks"].items():
        if "path" in options:  # the tiny files exist where the task reads them
            assert any(Path(options["path"]).rglob("*")), task


def test_stand_ins_keep_family_and_depth(tmp_path):
    config = {"seeds": [0], "experiments": [{"task": "sst2", "backbones": ["bert-base", "minilm-l6", "albert-base"],
                                             "strategies": ["joint"]}],
              "tasks": {"sst2": {"source": "hub"}}, "policies": {"final": {}}}
    from eebench.config import validate_config

    smoke = smoke_config(validate_config(config), tmp_path, "out")
    assert smoke["experiments"][0]["backbones"] == ["bert-tiny", "bert-small", "albert-small"]
    assert smoke["backbones"]["bert-small"]["n_layers"] == 6 and smoke["backbones"]["albert-small"]["n_layers"] == 12
    assert smoke["tasks"]["sst2"]["source"] == "local"
    # every pretrained backbone of the catalogue has a stand-in of its family and a known depth
    for name, component in catalogue.components("backbone").items():
        if component.target.kind == "pretrained":
            assert name in CHECKPOINT_DEPTHS and STAND_INS[component.target.family]


def test_smoke_config_stage_writes_a_valid_config(tmp_path):
    out = tmp_path / "smoke.yaml"
    STAGES["smoke-config"](REPO / "config/paper/survey.yaml", data=tmp_path / "data", out=out)
    assert load_config(out)["results_dir"] == "results/smoke-survey"
    assert (tmp_path / "data/sentiment-shift/SST-2/train.tsv").is_file()


# What every task of a grid must have after a run: its table, the leaderboard and the "Paper vs eebench" section.
TASK_TABLES = ("table", "markdown", "leaderboard", "leaderboard_table", "paper", "paper_table")


@pytest.mark.slow
@pytest.mark.paper_smoke
@pytest.mark.parametrize("config_file", PAPER_CONFIGS, ids=lambda p: p.stem)
def test_paper_grid_runs_end_to_end_in_smoke_mode(config_file, tmp_path):
    paper, smoke = load_config(config_file), shrink(config_file, tmp_path)
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(smoke, sort_keys=False))
    start = time.perf_counter()
    result = snakemake(tmp_path)
    stats = job_stats(result.stdout + result.stderr)
    print(f"{config_file.name}: smoke run {time.perf_counter() - start:.0f} s, jobs {stats}")
    # one training per run and one policy job (fit, evaluate, curve) per cell that applies
    assert stats["train"] == len(runs(smoke)) and stats["policy_cell"] == len(cells(smoke, runs(smoke)))
    results = tmp_path / smoke["results_dir"]
    tasks = list(dict.fromkeys(e["task"] for e in paper["experiments"]))
    for task in tasks:
        outputs = layout.aggregate_outputs(task)
        for name in (*TASK_TABLES, *layout.TARGETS):
            assert (results / outputs[name]).is_file(), outputs[name]
        table = pd.read_csv(results / outputs["table"], keep_default_na=False)
        notes = table["note"] if "note" in table else pd.Series("", index=table.index)
        for run in (run for run in runs(smoke) if run.task == task):
            for policy in paper["policies"]:  # every policy of the paper grid: its figures, or why it is left out
                row = (table.backbone == run.backbone) & (table.strategy == run.strategy) & (table.policy == policy)
                assert row.sum() == 1, (task, run, policy)
                reason = skip_reason(smoke, policy, run)
                if reason:
                    assert notes[row].item() == f"left out: {reason}", (task, run, policy)
                else:
                    assert table.loc[row, "n_seeds"].item() == 1 and notes[row].item() == "", (task, run, policy)
    report = tmp_path / "report.html"
    snakemake(tmp_path, "--report", str(report))
    html = report.read_text(errors="replace")
    assert len(html) > 10_000 and all(task in html for task in tasks)
