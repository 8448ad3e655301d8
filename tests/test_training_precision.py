"""`training.precision`: what each value resolves to, `auto` gives fp32's test accuracy, the resolved precision is
recorded in the training log and the model record, and latency runs the model in it."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from eebench.errors import ConfigError, DataError
from eebench.exits import load_exit_outputs
from eebench.inference import measure_latency, predict_split
from eebench.io import write_json
from eebench.models import load_model
from eebench.policies import make_policy
from eebench.tasks import prepare_task
from eebench.training import train_run
from eebench.training.precision import Precision, bf16_native, inference_precision, resolve_precision

pytestmark = pytest.mark.usefixtures("one_thread")

CPU = torch.device("cpu")
# Largest difference in test accuracy at any exit between `auto` and fp32 (digits test: 539 images, so 0.02 is
# 10 images; measured on an AVX-512 BF16 CPU, where auto is bf16: the same accuracy at every exit).
ACCURACY_TOLERANCE = 0.02


def test_each_value_resolves_as_documented():
    assert resolve_precision("auto", CPU) == Precision("bf16" if bf16_native(CPU) else "fp32", tf32=False)
    assert resolve_precision("fp32", CPU) == Precision("fp32", tf32=False)  # no TF32 off CUDA
    assert resolve_precision("fp32-strict", CPU) == Precision("fp32", tf32=False)
    assert resolve_precision("bf16", CPU) == Precision("bf16", tf32=False)
    with pytest.raises(ConfigError, match="training option 'precision': fp16 needs a CUDA GPU"):
        resolve_precision("fp16", CPU)
    with pytest.raises(ConfigError, match="'fp8' is not one of auto, fp32, fp32-strict, bf16, fp16"):
        resolve_precision("fp8", CPU)


def test_inference_runs_in_the_training_precision_unless_told():
    record = {"training": {"precision": {"dtype": "bf16", "tf32": False}}}
    assert inference_precision(record, CPU) == Precision("bf16", tf32=False)
    assert inference_precision(record, CPU, "fp32") == Precision("fp32", tf32=False)
    assert inference_precision({}, CPU) == Precision("fp32", tf32=False)  # a model recorded before the field
    fp16 = {"training": {"precision": {"dtype": "fp16", "tf32": True}}}
    assert inference_precision(fp16, CPU) == Precision("fp32", tf32=False)  # fp16 needs CUDA


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    out = tmp_path_factory.mktemp("data") / "digits"
    prepare_task("digits", {}, out, 0)
    return out


def test_auto_gives_fp32_accuracy_and_is_recorded(tmp_path, digits):
    accuracy = {}
    for precision in ("fp32", "auto"):
        model = tmp_path / precision / "model"
        train_run(digits, model, "mlp", {}, "joint", {},
                  {"epochs": 3, "batch_size": 64, "lr": 0.002, "device": "cpu", "precision": precision}, 0)
        predict_split(model, digits, "test", tmp_path / precision / "test.npz")
        exits = load_exit_outputs(tmp_path / precision / "test.npz")
        accuracy[precision] = (exits.logits.argmax(-1) == exits.labels[:, None]).mean(axis=0)

        resolved = "bf16" if precision == "auto" and bf16_native(CPU) else "fp32"
        record = json.loads((model / "eebench_model.json").read_text())
        assert record["training"]["precision"] == {"dtype": resolved, "tf32": False}
        assert record["training"]["options"]["precision"] == precision
        log = [json.loads(line) for line in (model / "train_log.jsonl").read_text().splitlines()]
        assert {entry["precision"] for entry in log} == {resolved}
    assert accuracy["fp32"].min() > 0.8  # it learnt something, so the comparison means something
    assert np.abs(accuracy["auto"] - accuracy["fp32"]).max() <= ACCURACY_TOLERANCE


def test_latency_runs_in_the_training_precision_and_a_damaged_record_is_named(tmp_path, digits):
    model = tmp_path / "model"
    train_run(digits, model, "mlp", {}, "joint", {}, {"max_steps": 2, "device": "cpu", "precision": "bf16"}, 0)
    write_json(tmp_path / "fit.json", make_policy("static", layer=2).to_dict())
    measure_latency(model, digits, tmp_path / "fit.json", tmp_path / "latency.json", batch_sizes=[8], samples=16,
                    passes=1)
    assert json.loads((tmp_path / "latency.json").read_text())["precision"] == {"dtype": "bf16", "tf32": False}

    path = model / "eebench_model.json"
    record = json.loads(path.read_text())
    record["training"]["precision"] = {"dtype": "fp8", "tf32": False}
    path.write_text(json.dumps(record))
    with pytest.raises(DataError, match="field 'training.precision': got .*fp8.* \\(allowed: "):
        load_model(model)
