"""The captioning grid: shipped configs validate and dry-run; a tiny grid runs end to end through Snakemake; the
paper grid (beem-coco) runs end to end in smoke mode."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import REPO_ROOT
from eebench import catalogue
from eebench.captioning import grid
from eebench.errors import ConfigError
from eebench.smoke.captioning import smoke_captioning_config

CONFIGS = [REPO_ROOT / "config" / "captioning.yaml", REPO_ROOT / "config" / "paper" / "beem-coco.yaml"]
needs_java = pytest.mark.skipif(shutil.which("java") is None,
                                reason="pycocoevalcap's PTB tokenizer and METEOR need Java (scripts/setup.sh installs it)")


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_shipped_captioning_configs_validate(path):
    config = grid.validate(yaml.safe_load(path.read_text()), str(path))
    assert {"final", "maxprob", "patience", "beem-a", "oracle"} <= set(config["policies"])
    assert grid.runs(config)


def test_bad_captioning_config_is_one_clear_error():
    config = yaml.safe_load(CONFIGS[0].read_text())
    with pytest.raises(ConfigError, match=r"field 'tasks\.shapes-captions\.colours': unknown option"):
        grid.validate({**config, "tasks": {"shapes-captions": {"colours": 3}}})
    with pytest.raises(ConfigError, match="field 'polices': unknown key"):
        grid.validate({**config, "polices": {}})
    with pytest.raises(ConfigError, match=r"field 'training\.lr': got nan, expected a finite number > 0"):
        grid.validate({**config, "training": {"lr": float("nan")}})
    with pytest.raises(ConfigError, match=r"field 'latency\.max_images': got 0, expected an integer >= 1"):
        grid.validate({**config, "latency": {"max_images": 0}})
    with pytest.raises(ConfigError, match="exit_heads 'shared'"):
        grid.validate({**config, "backbones": {"caption-small": {"exit_heads": "shared"}},
                       "experiments": [{"task": "shapes-captions", "backbones": ["caption-small"],
                                        "strategies": ["heads-only"]}]})
    with pytest.raises(ConfigError, match="unknown captioning-backbone .bert-base.; valid captioning backbones: caption-small"):
        grid.validate({**config, "experiments": [{"task": "shapes-captions", "backbones": ["bert-base"],
                                                   "strategies": ["joint-kl"]}]})


def test_captioning_components_are_in_the_catalogue_and_checked_from_it():
    assert set(catalogue.components("captioning-task")) == {"shapes-captions", "coco-captions"}
    assert {"caption-small", "swin-gpt2"} <= set(catalogue.components("captioning-backbone"))
    assert set(catalogue.components("captioning-strategy")) == {"joint-kl", "heads-only"}
    listed = catalogue.describe(["captioning-backbone"])
    assert "  swin-gpt2 — " in listed and "exit_heads = 'linear'" in listed
    config = yaml.safe_load(CONFIGS[0].read_text())
    # lte reads learned scores that no captioner has: not a per-token policy
    with pytest.raises(ConfigError, match=r"^'c\.yaml', field 'policies\.learned\.method': unknown captioning-policy "
                                          r"'lte'; valid captioning policies: .*maxprob"):
        grid.validate({**config, "policies": {"learned": {"method": "lte"}}}, "c.yaml")
    with pytest.raises(ConfigError, match=r"^'c\.yaml', field 'policies\.maxprob\.threshold': got 2, expected a "
                                          r"finite number in \[0, 1\] or null$"):
        grid.validate({**config, "policies": {"maxprob": {"threshold": 2}}}, "c.yaml")


def snakemake(tmp_path, config: dict, *extra):
    config_path = tmp_path / "config.yaml"
    config_path.write_text(yaml.safe_dump(config))
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src"), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "snakemake", "-s", str(REPO_ROOT / "workflow" / "captioning.smk"),
                           "--directory", str(tmp_path), "--configfile", str(config_path), "--cores", "2", *extra],
                          capture_output=True, text=True, env=env, cwd=REPO_ROOT)


@pytest.mark.slow
@needs_java
def test_tiny_captioning_grid_end_to_end(tmp_path):
    config = yaml.safe_load(CONFIGS[0].read_text())
    config.update({
        "results_dir": str(tmp_path / "results"),
        "tasks": {"shapes-captions": {"train_size": 40, "val_size": 8, "test_size": 8, "image_size": 16}},
        "backbones": {"caption-small": {"image_size": 16, "hidden_size": 32, "decoder_layers": 3}},
        "training": {"epochs": 1, "batch_size": 40},
        "policies": {"final": {}, "maxprob": {}, "oracle": {}},
        "latency": {"policies": ["maxprob"], "max_images": 3},
    })
    done = snakemake(tmp_path, config)
    assert done.returncode == 0, done.stderr[-3000:]
    results = tmp_path / "results"
    table = (results / "tables" / "shapes-captions.csv").read_text()
    assert all(policy in table for policy in ("final", "maxprob", "oracle"))
    run = results / "runs" / "shapes-captions" / "caption-small" / "joint-kl" / "seed0"
    final = json.loads((run / "policies" / "final" / "test.json").read_text())
    assert final["layer_speedup"] == 1.0 and final["token_agreement"] == 1.0
    assert set(final["metrics"]) >= {"bleu1", "bleu4", "meteor", "rouge_l", "cider", "spice"}
    latency = json.loads((run / "policies" / "maxprob" / "latency.json").read_text())
    assert latency["simulation_agreement"]["match_until_first_early_exit"] == 1.0
    assert "Nothing to be done" in snakemake(tmp_path, config).stderr  # idempotent


def test_grid_check_is_torch_free():
    code = ("import sys, yaml; from eebench.captioning import grid; "
            f"grid.validate(yaml.safe_load(open({str(CONFIGS[0])!r})));"
            "assert 'torch' not in sys.modules and 'transformers' not in sys.modules, 'torch imported'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO_ROOT / "src")})
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_shipped_captioning_configs_build_their_dag(tmp_path, path):
    done = snakemake(tmp_path, yaml.safe_load(path.read_text()), "-n")
    assert done.returncode == 0, done.stderr[-3000:]


def smoked_beem_coco(tmp_path) -> dict:
    paper = grid.validate(yaml.safe_load(CONFIGS[1].read_text()), str(CONFIGS[1]))
    return smoke_captioning_config(paper, tmp_path / "data", str(tmp_path / "results"), source=str(CONFIGS[1]))


def test_smoked_beem_coco_keeps_tasks_strategies_policies_and_exits(tmp_path):
    paper, smoke = yaml.safe_load(CONFIGS[1].read_text()), smoked_beem_coco(tmp_path)
    assert [(e["task"], e["strategies"]) for e in smoke["experiments"]] == \
        [(e["task"], e["strategies"]) for e in paper["experiments"]]
    assert smoke["policies"] == paper["policies"] and smoke["latency"]["policies"] == paper["latency"]["policies"]
    assert smoke["experiments"][0]["backbones"] == ["caption-small-swin"]  # swin-gpt2's family, no download
    assert smoke["backbones"]["caption-small-swin"]["decoder_layers"] == 12  # GPT-2's 12 exits
    assert smoke["strategies"]["heads-only"] == {"backbone_epochs": 1, "head_epochs": 1}
    assert smoke["metrics"] == {"meteor": False}
    coco = smoke["tasks"]["coco-captions"]
    assert coco["source"] == "local" and "max_test" not in coco
    records = json.loads((tmp_path / "data" / "coco-captions" / "dataset_coco.json").read_text())["images"]
    assert {r["split"] for r in records} == {"train", "restval", "val", "test"}
    assert all(len(r["sentences"]) == 5 for r in records)
    assert all((tmp_path / "data" / "coco-captions" / r["filepath"] / r["filename"]).is_file() for r in records)


def test_smoke_config_stage_writes_a_captioning_smoke_grid(tmp_path, capsys):
    from eebench.stages import STAGES

    out = tmp_path / "smoke.yaml"
    STAGES["smoke-config"](CONFIGS[1], data=tmp_path / "data", out=out)
    assert "snakemake -s workflow/captioning.smk" in capsys.readouterr().out
    written = grid.validate(yaml.safe_load(out.read_text()), str(out))
    assert written["results_dir"] == "results/smoke-beem-coco" and "caption-small-swin" in written["backbones"]


@pytest.mark.slow
@pytest.mark.paper_smoke
@needs_java
def test_beem_coco_runs_end_to_end_in_smoke_mode(tmp_path):
    smoke = smoked_beem_coco(tmp_path)
    start = time.perf_counter()
    done = snakemake(tmp_path, smoke)
    print(f"beem-coco smoke run: {time.perf_counter() - start:.0f} s")
    assert done.returncode == 0, done.stderr[-3000:]
    results = tmp_path / "results"
    table = pd.read_csv(results / "tables" / "coco-captions.csv")
    for run in grid.runs(smoke):  # every policy has its row with figures (no captioning policy is left out)
        rows = table[table["run"].str.endswith(f"/{run.backbone}/{run.strategy}")]
        assert sorted(rows["policy"]) == sorted(smoke["policies"]), run
        assert rows[["cider", "bleu4", "rouge_l", "layer_speedup", "flops_speedup"]].notna().all().all(), run
        assert "meteor" not in rows  # turned off in smoke mode: null in test.json, no column of zeros
        run_dir = results / "runs" / run.path
        with np.load(run_dir / "exits" / "test.npz") as exits:
            assert exits["logits"].shape[1] == 12  # every GPT-2 exit recorded
        final = json.loads((run_dir / "policies" / "final" / "test.json").read_text())
        assert final["metrics"]["meteor"] is None and "turned off" in final["metrics"]["meteor_missing"]
        for policy in smoke["latency"]["policies"]:
            latency = json.loads((run_dir / "policies" / policy / "latency.json").read_text())
            assert latency["simulation_agreement"]["match_until_first_early_exit"] == 1.0
    assert (results / "tables" / "coco-captions.html").is_file()
