"""Paper grids that cannot rot: every `config/paper/*.yaml` (the captioning grid beem-coco too) runs end to end in
smoke mode through the one workflow (same tasks, strategies and policies; tiny random-init backbones of the same
families; tiny files in the real data layouts), and the transformation itself keeps the grid's components."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from eebench import catalogue, layout
from eebench.config import backbone_id, cells, load_config, runs, skip_reason, validate_config
from eebench.errors import ConfigError
from eebench.models.backbones.captioners import downloads
from eebench.smoke import CHECKPOINT_DEPTHS, DEPTH_OPTIONS, N_TRAIN, STAND_INS, smoke_config
from eebench.stages import STAGES
from test_workflow import REPO, job_stats, snakemake

PAPER_CONFIGS = sorted((REPO / "config" / "paper").glob("*.yaml"))


def downloads_weights(name: str) -> bool:
    spec = catalogue.get("backbone", name).target
    return spec.kind == "pretrained" or (spec.kind == "captioner" and downloads(spec.options))


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
            assert not downloads_weights(backbone_id(smoke, name)), name
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
    assert "lr" not in smoke["experiments"][0]["training"]  # the grid's learning rate (captions get their own)
    # every backbone of the catalogue that downloads weights has a stand-in of its kind and family and a known depth
    for name, component in catalogue.components("backbone").items():
        spec = component.target
        if downloads_weights(name):
            checkpoint = spec.options["decoder"].default if spec.kind == "captioner" else name
            assert checkpoint in CHECKPOINT_DEPTHS and STAND_INS[spec.kind][spec.family], name
            assert all(DEPTH_OPTIONS[spec.kind] in catalogue.get("backbone", stand_in).options
                       for stand_in in STAND_INS[spec.kind][spec.family])


def test_variants_keep_their_names_and_build_a_stand_in(tmp_path):
    config = {"seeds": [0], "experiments": [{"task": "sst2", "backbones": ["minilm-l6", "minilm-cls", "bert-tiny"],
                                             "strategies": ["joint"]}],
              "backbones": {"minilm-cls": {"backbone": "minilm-l6", "pool": "cls"}},
              "tasks": {"sst2": {"source": "hub"}}, "policies": {"final": {}}}
    smoke = smoke_config(validate_config(config), tmp_path, "out")
    assert smoke["experiments"][0]["backbones"] == ["bert-small", "minilm-cls", "bert-tiny"]
    assert smoke["backbones"]["minilm-cls"] == {"backbone": "bert-tiny", "pool": "cls", "hidden_size": 16,
                                                "n_heads": 2, "intermediate_size": 32, "n_layers": 6}


def test_caption_grid_shrinks_to_random_init_captioners_and_tiny_local_coco(tmp_path):
    config = {"seeds": [0, 1], "experiments": [
        {"task": "coco-captions", "backbones": ["vit-gpt2", "swin-gpt2"], "strategies": ["heads-only", "joint-kl"]},
        {"task": "shapes-captions", "backbones": ["swin-gpt2"], "strategies": ["joint-kl"]}],
        "tasks": {"coco-captions": {"path": "/nowhere", "max_val": 500, "max_test": 1000}},
        "backbones": {"vit-gpt2": {"decoder": "distilgpt2", "exit_heads": "linear"}},
        "strategies": {"heads-only": {"backbone_epochs": 5, "head_epochs": 3}}, "policies": {"final": {}}}
    smoke = smoke_config(validate_config(config), tmp_path, "out")
    assert [e["backbones"] for e in smoke["experiments"]] == [["caption-small", "caption-small-swin"],
                                                               ["caption-small-swin"]]
    # the hub decoder's depth (= its exits): distilgpt2 6, GPT-2 12; narrow, short captions, options kept
    assert smoke["backbones"]["caption-small"]["decoder_layers"] == 6
    assert smoke["backbones"]["caption-small-swin"]["decoder_layers"] == 12
    assert smoke["backbones"]["caption-small"]["exit_heads"] == "linear"
    assert all(b["hidden_size"] == 16 and b["max_length"] == 12 for b in smoke["backbones"].values())
    assert smoke["strategies"]["heads-only"] == {"backbone_epochs": 1, "head_epochs": 1}
    assert all(e["training"]["epochs"] == 1 and e["training"]["lr"] == 0.01 for e in smoke["experiments"])
    coco, shapes = smoke["tasks"]["coco-captions"], smoke["tasks"]["shapes-captions"]
    assert coco["meteor"] is False and shapes["meteor"] is False  # no Java start-up in every policy cell
    assert coco["source"] == "local" and not any(key.startswith("max_") for key in coco)
    records = json.loads((Path(coco["path"]) / "dataset_coco.json").read_text())["images"]
    assert {r["split"] for r in records} == {"train", "restval", "val", "test"}
    assert sum(r["split"] in ("train", "restval") for r in records) == N_TRAIN
    assert all(len(r["sentences"]) == 5 and (Path(coco["path"]) / r["filepath"] / r["filename"]).is_file()
               for r in records)
    assert shapes["train_size"] == N_TRAIN and shapes["test_size"] < 200


@pytest.mark.parametrize("backbones, options, message", [
    (["vit-gpt2", "caption-small"], {}, "no random-init stand-in left"),  # caption-small is vit-gpt2's only one
    (["swin-gpt2"], {"swin-gpt2": {"decoder": "gpt2-xl"}}, "does not know the depth of 'gpt2-xl'"),
])
def test_caption_grid_that_smoke_mode_cannot_shrink_names_the_table(tmp_path, backbones, options, message):
    config = validate_config({"seeds": [0], "experiments": [{"task": "shapes-captions", "backbones": backbones,
                                                             "strategies": ["joint-kl"]}],
                              "backbones": options, "policies": {"final": {}}})
    with pytest.raises(ConfigError, match=message):
        smoke_config(config, tmp_path, "out")


def test_smoke_config_stage_writes_a_valid_config(tmp_path, capsys):
    out = tmp_path / "smoke.yaml"
    STAGES["smoke-config"](REPO / "config/paper/survey.yaml", data=tmp_path / "data", out=out)
    assert load_config(out)["results_dir"] == "results/smoke-survey"
    assert (tmp_path / "data/sentiment-shift/SST-2/train.tsv").is_file()
    # the captioning grid too, for the one workflow
    STAGES["smoke-config"](REPO / "config/paper/beem-coco.yaml", data=tmp_path / "data", out=out)
    assert load_config(out)["backbones"].keys() == {"caption-small-swin"}
    assert (tmp_path / "data/coco-captions/dataset_coco.json").is_file()
    assert f"run: snakemake --cores 2 --configfile {out}" in capsys.readouterr().out


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
        claims = pd.read_csv(results / outputs["paper_table"], keep_default_na=False)
        branchynet = claims[claims["rule"] == "branchynet"]["eebench setting"]
        if config_file.stem == "branchynet-mnist":  # their T and the val-fitted T, each with its timing read
            assert {"b-lenet/branchynet/entropy-t0025 (their T = 0.025)",
                    "b-lenet/branchynet/entropy (T fitted on val)"} <= set(branchynet), list(branchynet)
            timed = claims[claims["eebench setting"].str.contains("T = 0.025")]["eebench"].item()
            assert "× at batch 1" in timed, timed
    for run in runs(smoke):  # a stand-in records every exit of the checkpoint it replaces
        kind = catalogue.get("backbone", backbone_id(smoke, run.backbone)).target.kind
        depth = smoke["backbones"].get(run.backbone, {}).get(DEPTH_OPTIONS.get(kind))
        if depth:
            with np.load(results / "runs" / run.path / "exits" / "test.npz") as exits:
                assert exits["logits"].shape[1] == depth, run
        if catalogue.get("task", run.task).facts["modality"] == "image-caption":
            with np.load(results / "runs" / run.path / "exits" / "val.npz") as exits:  # captions, not end-of-caption
                assert len(exits["labels"]) > len(np.unique(exits["sample_ids"])), run  # only (MODALITY_TRAINING)
                assert len(np.unique(exits["labels"])) > 1, run
            final = json.loads((results / "runs" / run.path / "policies" / "final" / "test.json").read_text())
            assert final["metrics"]["meteor"] is None and final["metrics"]["meteor_missing"], run  # off, with why
    report = tmp_path / "report.html"
    snakemake(tmp_path, "--report", str(report))
    html = report.read_text(errors="replace")
    assert len(html) > 10_000 and all(task in html for task in tasks)
