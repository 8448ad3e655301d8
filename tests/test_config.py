"""Config validation: every mistake a user can make is one clear message naming the field and what is allowed."""

import copy
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from eebench.config import load_config, runs, training_options, validate_config
from eebench.errors import ConfigError

DEFAULT = Path(__file__).resolve().parents[1] / "config" / "config.yaml"


@pytest.fixture
def config() -> dict:
    return yaml.safe_load(DEFAULT.read_text())


def test_default_config_is_valid_and_has_its_tasks_and_seeds():
    config = load_config(DEFAULT)
    grid = runs(config)
    # uci: real text, shipped; shapes-captions: captioning, generated offline
    assert {run.task for run in grid} == {"digits", "synth-sentiment", "uci-sentiment", "shapes-captions"}
    assert len(config["seeds"]) >= 2
    assert config["policy_fit"]["tolerance"] == 0.01
    assert grid[0].path == "digits/cnn/joint/seed0"


def test_experiment_training_overrides_defaults_key_by_key(config):
    validated = validate_config(config)
    options = training_options(validated, "digits", "cnn", "joint")
    assert options["epochs"] == 30 and options["weight_decay"] == 0.0
    assert options["max_length"] == config["training"]["max_length"]


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"experiments": [{"task": "nope", "backbones": ["mlp"], "strategies": ["joint"]}]},
         ["experiments[0].task", "'nope'", "digits", "synth-sentiment"]),
        ({"experiments": [{"task": "digits", "backbones": ["resnet9000"], "strategies": ["joint"]}]},
         ["experiments[0].backbones[0]", "'resnet9000'", "mlp"]),
        ({"experiments": [{"task": "digits", "backbones": ["mlp"], "strategies": ["magic"]}]},
         ["experiments[0].strategies[0]", "'magic'", "joint"]),
        ({"policies": {"mine": {"method": "telepathy"}}}, ["policies.mine.method", "'telepathy'", "maxprob"]),
        ({"policies": {"telepathy": {}}}, ["policies.telepathy", "telepathy", "maxprob"]),
        ({"seeds": "0,1"}, ["seeds", "expected array"]),
        ({"seeds": [0, -1]}, ["seeds[1]"]),
        ({"training": {"lr": "fast"}}, ["training.lr", "'fast'", "expected a finite number > 0"]),
        ({"training": {"lr": float("nan")}}, ["training.lr", "nan", "finite"]),
        ({"training": {"max_length": 0}}, ["training.max_length", "integer >= 1"]),
        ({"policy_fit": {"tolerance": 2}}, ["policy_fit.tolerance"]),
        ({"colour": "blue"}, ["'colour' was unexpected", "allowed keys"]),
        ({"latency": {"policies": ["ghost"]}}, ["latency.policies", "ghost"]),
        ({"policies": {"pcee": {"delta": 2}}}, ["policies.pcee.delta", "got 2", "in [0, 1]"]),
        ({"policies": {"ucb": {"exploration": float("inf")}}}, ["policies.ucb.exploration", "inf", "finite"]),
        ({"policies": {"maxprob": {"treshold": 0.9}}}, ["policies.maxprob.treshold", "allowed options: threshold"]),
        ({"tasks": {"digits": {"val_fration": 0.2}}}, ["tasks.digits.val_fration", "val_fraction"]),
        ({"backbones": {"mlp": {"hiden": 64}}}, ["backbones.mlp.hiden", "allowed options: hidden"]),
        ({"strategies": {"joint-kl": {"temprature": 2}}}, ["strategies.joint-kl.temprature", "temperature"]),
        ({"latency": {"batch_sizes": [1, 0]}}, ["latency.batch_sizes", "integers >= 1"]),
        ({"results_dir": ""}, ["results_dir", "non-empty path"]),
        ({"targets": [{"task": "qnli", "figure": "final-exit", "at_least": 0.9}]},
         ["targets[0].task", "'qnli' is not a task of this grid's experiments", "digits"]),
        ({"targets": [{"task": "digits", "figure": "median", "at_least": 0.9}]}, ["targets[0].figure", "final-exit"]),
        ({"targets": [{"task": "digits", "figure": "final-exit"}]}, ["targets[0]", "at_least"]),
    ],
)
def test_bad_config_gives_one_clear_message(config, change, expected):
    bad = copy.deepcopy(config)
    bad.update(change)
    with pytest.raises(ConfigError) as error:
        validate_config(bad, source="my.yaml")
    message = str(error.value)
    assert message.startswith("'my.yaml'")
    for fragment in expected:
        assert fragment in message


def test_duplicate_run_is_rejected(config):
    bad = copy.deepcopy(config)
    bad["experiments"].append(copy.deepcopy(bad["experiments"][0]))
    with pytest.raises(ConfigError, match="already trained by experiments\\[0\\]"):
        validate_config(bad)


def test_missing_or_malformed_config_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "absent.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("seeds: [0, 1\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(broken)


def test_a_val_split_the_config_makes_too_small_for_the_tolerance_is_refused_before_training(config):
    small = copy.deepcopy(config)
    small["tasks"]["uci-sentiment"]["max_val"] = 60  # tolerance 0.01 needs 100
    with pytest.raises(ConfigError) as error:
        validate_config(small, source="my.yaml")
    message = str(error.value)
    assert message.startswith("'my.yaml', field 'tasks.uci-sentiment.max_val': max_val = 60 is too small for "
                              "policy_fit.tolerance") and "need at least 100 samples" in message and "\n" not in message
    small["policy_fit"]["tolerance"] = 0.02  # 60 samples resolve 1/60 = 0.0167
    validate_config(small)
    small["policy_fit"]["tolerance"] = 0.001  # synth-sentiment's default val_size of 400 is now too small
    small["tasks"]["uci-sentiment"]["max_val"] = 1000
    with pytest.raises(ConfigError, match=r"field 'tasks.synth-sentiment.val_size': val_size = 400 \(the default\)"):
        validate_config(small, source="my.yaml")


def test_a_task_left_out_of_tasks_is_checked_with_its_options_named(config):
    bad = copy.deepcopy(config)
    bad["experiments"].append({"task": "text-classification", "backbones": ["bert-small"], "strategies": ["joint"]})
    with pytest.raises(ConfigError, match=r"^'my.yaml', field 'tasks.text-classification.train': required"):
        validate_config(bad, source="my.yaml")


# two classes need two samples; policy_fit.tolerance is in [0, 1)
@given(st.integers(2, 5000), st.floats(0, 1, exclude_max=True))
def test_the_config_check_applies_fits_own_val_size_rule(n_val, tolerance):
    from eebench.exits import ExitOutputs
    from eebench.policies.stages import degenerate_val_problem

    grid = {"seeds": [0], "experiments": [{"task": "synth-sentiment", "backbones": ["bert-small"],
                                           "strategies": ["joint"]}],
            "tasks": {"synth-sentiment": {"val_size": n_val}}, "policies": {"final": {}},
            "policy_fit": {"tolerance": tolerance}}
    two_classes = ExitOutputs(np.zeros((n_val, 2, 2)), np.arange(n_val) % 2, np.arange(n_val))
    if degenerate_val_problem(two_classes, tolerance):
        with pytest.raises(ConfigError, match="field 'tasks.synth-sentiment.val_size'"):
            validate_config(grid)
    else:
        validate_config(grid)


def _with_variants(config: dict, backbones: dict) -> dict:
    changed = copy.deepcopy(config)
    changed["backbones"] = {**changed["backbones"], **backbones}
    changed["experiments"][0]["backbones"] = list(backbones)
    return changed


def test_backbone_variants_configure_one_catalogue_backbone_twice(config):
    """PCEE's larger-vs-smaller claim needs two sizes of one family in one grid: each variant is a run folder of
    its own and trains the catalogue backbone it names with its own options."""
    from eebench.config import backbone_id, backbone_params

    checked = validate_config(_with_variants(config, {"cnn-large": {"backbone": "cnn", "channels": 32},
                                                      "cnn-small": {"backbone": "cnn", "channels": 8}}))
    assert list(dict.fromkeys(run.backbone for run in runs(checked) if run.task == "digits")) == ["cnn-large",
                                                                                                "cnn-small"]
    assert backbone_id(checked, "cnn-small") == "cnn" and backbone_params(checked, "cnn-small") == {"channels": 8}
    assert backbone_id(checked, "minilm-l6") == "minilm-l6"


@pytest.mark.parametrize("backbones, field, expected", [
    ({"cnn-big": {"backbone": "cnnn"}}, "backbones.cnn-big.backbone", "cnnn"),
    ({"cnn-big": {"backbone": "cnn", "channels": -1}}, "backbones.cnn-big.channels", "channels"),
    ({"cnn-big": {"backbone": "cnn", "hidden_size": 8}}, "backbones.cnn-big.hidden_size", "allowed options"),
    ({"mlp": {"backbone": "cnn"}}, "backbones.mlp", "catalogue backbone"),
    ({"Big CNN": {"backbone": "cnn"}}, "backbones.Big CNN", "folder"),
    ({"cnn-big": {"backbone": 3}}, "backbones.cnn-big", "names the catalogue backbone"),
])
def test_a_bad_backbone_variant_is_one_line_naming_its_field(config, backbones, field, expected):
    with pytest.raises(ConfigError) as error:
        validate_config(_with_variants(config, backbones), source="grid.yaml")
    message = str(error.value)
    assert "\n" not in message and f"field '{field}'" in message and expected in message
