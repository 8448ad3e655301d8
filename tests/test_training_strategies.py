"""Every strategy trains and predicts on every backbone family; same seed → identical exit logits; the training
log and clear errors for bad settings."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from safetensors.torch import load_file

from eebench.errors import ConfigError
from eebench.exits import load_exit_outputs
from eebench.inference import predict_split
from eebench import catalogue
from eebench.tasks import prepare_task
from eebench.training import train_run

pytestmark = pytest.mark.usefixtures("one_thread")

TINY = {"n_layers": 2, "hidden_size": 32, "n_heads": 2, "intermediate_size": 64}
FAST = {"max_steps": 3, "batch_size": 8, "max_length": 16, "lr": 1e-3, "warmup_ratio": 0.0}


@pytest.fixture(scope="module")
def sentiment(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("data") / "sentiment"
    prepare_task("synth-sentiment", {"train_size": 32, "val_size": 8, "test_size": 12}, out, 0)
    return out


@pytest.fixture(scope="module")
def digits(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("data") / "digits"
    prepare_task("digits", {}, out, 0)
    return out


def write_text_task(folder: Path, modality: str, n_classes: int) -> Path:
    """A tiny prepared task in the documented layout (sentence pairs / regression, which no built-in task has)."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    words = "good bad fine awful great dull".split()
    for split, n in (("train", 16), ("val", 6), ("test", 6)):
        with open(folder / f"{split}.jsonl", "w") as fh:
            for i in range(n):
                texts = [" ".join(rng.choice(words, 3)) for _ in range(2)]
                label = float(rng.uniform(0, 5)) if n_classes == 1 else int(rng.integers(n_classes))
                fields = {"text_a": texts[0], "text_b": texts[1]} if modality == "text-pair" else {"text": texts[0]}
                fh.write(json.dumps({"id": f"{split}-{i}", **fields, "label": label}) + "\n")
    info = {"task": "fixture", "modality": modality, "n_classes": n_classes, "metric": "accuracy",
            "label_names": [str(c) for c in range(n_classes)]}
    (folder / "info.json").write_text(json.dumps(info))
    return folder


def train_and_predict(data: Path, out: Path, backbone, options, strategy, strategy_options=None, seed=0, training=FAST):
    train_run(data, out / "model", backbone, options, strategy, strategy_options or {}, training, seed)
    predict_split(out / "model", data, "test", out / "test.npz")
    return load_exit_outputs(out / "test.npz")


FAMILIES = ["bert-small", "roberta-small", "distilbert-small", "albert-small", "vit-small"]


# every strategy that trains classifiers (heads-only trains captioners only: tests/test_captioning.py)
CLASSIFIER_STRATEGIES = [name for name, component in catalogue.components("strategy").items()
                         if "text" in component.facts["modalities"]]


@pytest.mark.parametrize("strategy", CLASSIFIER_STRATEGIES)
@pytest.mark.parametrize("backbone", FAMILIES)
def test_every_strategy_trains_and_predicts_on_every_family(tmp_path, sentiment, digits, strategy, backbone):
    data = digits if backbone == "vit-small" else sentiment
    outputs = train_and_predict(data, tmp_path, backbone, TINY, strategy)
    assert outputs.logits.shape == (len(outputs.labels), 2, 10 if backbone == "vit-small" else 2)
    assert np.isfinite(outputs.logits).all()
    assert ("lte_scores" in outputs.extras) == (strategy == "alternating")
    if strategy == "alternating":
        assert outputs.extras["lte_scores"].shape == outputs.logits.shape[:2]
    log = [json.loads(line) for line in (tmp_path / "model" / "train_log.jsonl").read_text().splitlines()]
    phases = 2 if strategy in ("two-stage", "distill", "branchynet") else 1
    assert [entry["step"] for entry in log] == list(range(1, 3 * phases + 1))
    assert all(len(entry["loss_per_exit"]) == 2 and entry["lr"] > 0 for entry in log)
    assert not (tmp_path / "model.checkpoints").exists()


@pytest.mark.parametrize("strategy", ["two-stage", "distill"])
def test_second_stage_trains_only_the_intermediate_exits(tmp_path, sentiment, strategy):
    one_stage = {**FAST, "max_steps": 2}
    train_run(sentiment, tmp_path / "a", "bert-small", TINY, strategy, {"head_epochs": 1e-9}, one_stage, 0)
    first = load_file(str(tmp_path / "a" / "model.safetensors"))
    train_run(sentiment, tmp_path / "b", "bert-small", TINY, strategy, {}, one_stage, 0)
    both = load_file(str(tmp_path / "b" / "model.safetensors"))
    changed = {name for name in first if not np.array_equal(first[name].numpy(), both[name].numpy())}
    assert changed and all(name.startswith("exits.0.") for name in changed)
    log = [json.loads(line) for line in (tmp_path / "b" / "train_log.jsonl").read_text().splitlines()]
    assert log[-1]["loss_per_exit"][-1] is None and log[0]["loss_per_exit"][0] is None


@pytest.mark.parametrize("data_kind", ["text-pair", "regression"])
def test_pairs_and_regression_train(tmp_path, data_kind):
    modality, n_classes = ("text-pair", 3) if data_kind == "text-pair" else ("text", 1)
    data = write_text_task(tmp_path / "data", modality, n_classes)
    for strategy in ("joint-kl", "alternating"):
        outputs = train_and_predict(data, tmp_path / strategy, "bert-tiny", {"n_layers": 2}, strategy)
        assert outputs.logits.shape == (6, 2, n_classes)


@pytest.mark.parametrize("backbone", ["mlp", "bert-small"])
def test_same_seed_gives_identical_exit_logits_and_another_seed_differs(tmp_path, digits, sentiment, backbone):
    if backbone == "mlp":
        data, options, training = digits, {}, {"epochs": 1, "batch_size": 64, "lr": 0.002}
    else:
        data, options, training = sentiment, TINY, FAST
    first, again, other = (
        train_and_predict(data, tmp_path / name, backbone, options, "joint", seed=seed, training=training)
        for name, seed in (("first", 0), ("again", 0), ("other", 1))
    )
    assert np.array_equal(first.logits, again.logits)
    assert not np.array_equal(first.logits, other.logits)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"strategy": "pabee"}, "unknown strategy 'pabee'; valid strategies: joint, joint-kl, two-stage, distill, branchynet, alternating, dynexit, leebert"),
        ({"strategy": "joint-kl", "strategy_options": {"alpha": 1}},
         "option 'alpha': unknown option; allowed options: ce_weight, kl_weight, temperature"),
        ({"strategy": "alternating", "strategy_options": {"lte_loss": "l1"}}, "got 'l1', expected one of 'mse', 'bce'"),
        ({"strategy": "two-stage", "strategy_options": {"head_epochs": -1}},
         "option 'head_epochs': got -1, expected a finite number > 0 or null"),
        ({"training": {"epoch": 1}}, "training options, option 'epoch': unknown option"),
        ({"training": {"batch_size": 0}}, "training options, option 'batch_size': got 0, expected an integer >= 1"),
        ({"training": {"precision": "fp8"}},
         "training options, option 'precision': got 'fp8', expected one of 'auto', 'fp32', 'fp32-strict', 'bf16', "
         "'fp16'"),
        ({"training": {"precision": "fp16", "device": "cpu"}}, "fp16 needs a CUDA GPU"),
        ({"training": {"device": "tpu"}}, "option 'device': got 'tpu', expected a string matching auto"),
        ({"backbone": "bert-small"}, "backbone 'bert-small' takes text or text-pair tasks"),
    ],
)
def test_bad_training_settings_are_one_clear_config_error(tmp_path, digits, kwargs, message):
    args = {"backbone": "mlp", "strategy": "joint", "strategy_options": {}, "training": FAST, **kwargs}
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        train_run(digits, tmp_path / "model", args["backbone"], {}, args["strategy"], args["strategy_options"],
                  args["training"], 0)
    assert not (tmp_path / "model").exists()


def test_bf16_on_cpu_trains(tmp_path, sentiment):
    outputs = train_and_predict(sentiment, tmp_path, "bert-small", TINY, "joint", training={**FAST, "precision": "bf16"})
    assert np.isfinite(outputs.logits).all()


@pytest.mark.parametrize("backbone, strategy, refused", [("mlp", "heads-only", "strategy 'heads-only'"),
                                                         ("caption-small", "joint", "backbone 'caption-small'")])
def test_train_refuses_what_cannot_take_the_tasks_inputs_in_one_line(tmp_path, digits, backbone, strategy, refused):
    """`eebench train` by hand with a caption-only strategy or a captioner on a classification task: one line
    naming it and the task's modality (the config check says the same before a grid starts)."""
    from eebench.errors import ConfigError

    with pytest.raises(ConfigError) as error:
        train_run(digits, tmp_path / "model", backbone, {}, strategy, {}, FAST, 0)
    message = str(error.value)
    assert refused in message and "\n" not in message and "holds a task of modality image" in message
    assert not (tmp_path / "model").exists()
