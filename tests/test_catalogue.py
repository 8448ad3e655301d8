"""The component catalogue: every option of every component is checked when the config is validated (DAG start),
the catalogue loads without torch, and a new policy is one class in one module."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from eebench import catalogue
from eebench.config import BATCH_SIZES, LATENCY_PASSES, LATENCY_SAMPLES, RESULTS_DIR, validate_config
from eebench.errors import ConfigError
from eebench.policies.base import FIT_OPTIONS
from eebench.training.options import TRAINING_OPTIONS

REPO = Path(__file__).resolve().parents[1]
BASE = {
    "seeds": [0],
    "experiments": [{"task": "digits", "backbones": ["mlp"], "strategies": ["joint"]}],
    "policies": {"final": {}},
}


def invalid_examples(option: catalogue.Option) -> list:
    """Values `option` must reject: wrong types, non-finite numbers, values beyond its bounds or choices."""
    if option.kind == "parsed":  # files, columns, domain lists: neither a flag nor a mapping of mappings fits
        return [True, {"no": {"such": [1]}}]
    if option.kind == "boolean":
        return ["yes", 1]
    if option.kind in ("choice", "text"):
        return [12345, "no-such-value" if option.kind == "choice" else ""]
    if option.kind == "path":
        return ["", "$(touch pwned)", "a;b", "{task}", "-rf", 7]
    if option.kind in ("numbers", "integers"):
        return ["1,2", [float("nan")] * (option.length or 1), [], [True] * (option.length or 1)]
    examples = ["ten", float("nan"), float("inf"), float("-inf"), True, None if not option.nullable else "null"]
    if option.kind == "integer":
        examples.append(1.5)
    if option.minimum is not None:
        examples.append(option.minimum - 1)
    if option.maximum is not None:
        examples.append(option.maximum + 1)
    return examples


def bad_configs():
    """(config change, field the message must name) for every invalid example value of every option."""
    cases = []
    for kind, section in (("task", "tasks"), ("backbone", "backbones"), ("strategy", "strategies")):
        for name, component in catalogue.components(kind).items():
            for key, option in component.options.items():
                cases += [({section: {name: {key: bad}}}, f"{section}.{name}.{key}", bad)
                          for bad in invalid_examples(option)]
            cases.append(({section: {name: {"no_such_option": 1}}}, f"{section}.{name}.no_such_option", 1))
    for name, component in catalogue.components("policy").items():
        for key, option in component.options.items():
            cases += [({"policies": {"cell": {"method": name, key: bad}}}, f"policies.cell.{key}", bad)
                      for bad in invalid_examples(option)]
        cases.append(({"policies": {name: {"no_such_option": 1}}}, f"policies.{name}.no_such_option", 1))
    for section, declared in (("training", TRAINING_OPTIONS), ("policy_fit", FIT_OPTIONS)):
        for key, option in declared.items():
            cases += [({section: {key: bad}}, f"{section}.{key}", bad) for bad in invalid_examples(option)]
    for key, option in (("batch_sizes", BATCH_SIZES), ("samples", LATENCY_SAMPLES), ("passes", LATENCY_PASSES)):
        cases += [({"latency": {key: bad}}, f"latency.{key}", bad) for bad in invalid_examples(option)]
    cases += [({"results_dir": bad}, "results_dir", bad) for bad in invalid_examples(RESULTS_DIR)]
    return cases


def test_every_bad_option_of_every_component_is_rejected_naming_its_key():
    cases = bad_configs()
    assert len(cases) > 300  # every component and option took part
    for change, field, bad in cases:
        config = {**copy.deepcopy(BASE), **change}
        with pytest.raises(ConfigError) as error:
            validate_config(config, source="grid.yaml")
        message = str(error.value)
        assert message.startswith(f"'grid.yaml', field '{field}'"), (change, message)
        assert "\n" not in message


def test_every_default_is_valid_and_documented():
    for kind in catalogue.KINDS:
        for name, component in catalogue.components(kind).items():
            required = [key for key, option in component.options.items() if option.default is catalogue._REQUIRED]
            if required:  # a task's data files, say: leaving one out is an error that names it
                with pytest.raises(ConfigError, match=f"option '{required[0]}': required"):
                    component.check({})
            else:
                defaults = {key: option.check(option.default) for key, option in component.options.items()}
                assert component.check({}) == defaults
            assert all(option.help for option in component.options.values()), (kind, name)


def test_catalogue_and_config_check_import_neither_torch_nor_transformers():
    code = (
        "import sys; from eebench import catalogue; from eebench.config import load_config; "
        f"[catalogue.components(kind) for kind in catalogue.KINDS]; load_config({str(REPO / 'config/config.yaml')!r}); "
        "print(sorted(m for m in ('torch', 'transformers', 'pandas', 'datasets') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_list_prints_every_component_with_options_and_defaults():
    from eebench.cli import main

    text = catalogue.describe()
    for kind in catalogue.KINDS:
        for name, component in catalogue.components(kind).items():
            assert f"  {name}" in text
            for key, option in component.options.items():
                shown = "(required)" if option.default is catalogue._REQUIRED else f"= {option.default!r}"
                assert f"{key} {shown}" in text
    assert main(["list", "strategy"]) == 0


def test_policies_that_do_not_apply_are_left_out_with_a_reason():
    from eebench.config import cells, runs, skipped_cells

    config = validate_config({
        "seeds": [0],
        "experiments": [{"task": "stsb", "backbones": ["bert-tiny"], "strategies": ["joint", "alternating"]}],
        "policies": {"final": {}, "maxprob": {}, "lte": {}, "patience": {}},
    })
    assert {(run.strategy, policy) for run, policy in cells(config, runs(config))} == {
        ("joint", "final"), ("joint", "patience"), ("alternating", "final"), ("alternating", "patience"),
        ("alternating", "lte"),
    }
    reasons = {(row["strategy"], row["policy"]): row["reason"] for row in skipped_cells(config, "stsb")}
    assert "regression" in reasons[("joint", "maxprob")] and "regression" in reasons[("alternating", "maxprob")]
    assert "lte_scores" in reasons[("joint", "lte")] and "alternating" in reasons[("joint", "lte")]


def test_a_policy_added_in_one_module_runs_through_fit_simulate_and_the_config_check(monkeypatch):
    """The README's example: a new policy is one class; nothing else is edited."""
    from eebench.config import cells, runs
    from eebench.policies import make_policy, simulate

    monkeypatch.setitem(catalogue._REGISTRY, "policy", dict(catalogue._REGISTRY["policy"]))  # forget it afterwards
    from eebench.catalogue import number
    from eebench.policies.base import ThresholdPolicy

    class MarginPolicy(ThresholdPolicy):
        """`margin`: exit once the top two softmax probabilities differ by at least `threshold`."""

        id = "margin"
        knob = "threshold"
        params = {"threshold": number("smallest margin that exits; null = chosen by fit", minimum=0, maximum=1)}

        def __init__(self, threshold=None):
            self.threshold = threshold

        def layer_score(self, state, layer, logits_l):
            p = np.exp(logits_l - logits_l.max(axis=1, keepdims=True))
            top_two = np.sort(p / p.sum(axis=1, keepdims=True), axis=1)[:, -2:]
            return top_two[:, 1] - top_two[:, 0]

    # hand-worked: exit 1 margins 0.8 - 0.2 = 0.6 and 0.55 - 0.45 = 0.1; exit 2 is the final one
    p = np.array([[[0.8, 0.2], [0.5, 0.5]], [[0.55, 0.45], [0.9, 0.1]]])
    logits = np.log(p)
    np.testing.assert_allclose(MarginPolicy().layer_score(None, 1, logits[:, 0]), [0.6, 0.1])
    exits, _ = simulate(make_policy("margin", threshold=0.5), logits)
    assert exits.tolist() == [1, 2]
    # both first exits are right, so fit picks a threshold that lets both exit there
    # (one class in the labels makes every exit "no better than the majority": keep them open for this example)
    fitted = make_policy("margin").fit(logits, np.array([0, 0]), tolerance=0.0, keep_degenerate_exits=True)
    assert simulate(fitted, logits)[0].tolist() == [1, 1]
    with pytest.raises(ConfigError, match="option 'threshold': got 2"):
        make_policy("margin", threshold=2)

    config = {**copy.deepcopy(BASE), "policies": {"margin": {"threshold": 0.3}}}
    assert [policy for _, policy in cells(validate_config(config), runs(validate_config(config)))] == ["margin"]
    config["policies"]["margin"]["threshold"] = float("nan")
    with pytest.raises(ConfigError, match="field 'policies.margin.threshold'"):
        validate_config(config)


def test_registering_a_name_twice_from_different_code_is_an_error(monkeypatch):
    monkeypatch.setitem(catalogue._REGISTRY, "task", dict(catalogue._REGISTRY["task"]))
    with pytest.raises(ValueError, match="registered twice"):
        catalogue.register("task", "digits", {}, target=object)


@pytest.mark.slow
def test_beem_glue_grid_aggregates_with_stsb_left_out_policies_in_the_tables(tmp_path):
    """The paper grid's STS-B (a regression): probability rules are left out with the reason, and the checks
    table copes with checks.json files that have no classification sections."""
    from eebench.config import cells, load_config, runs, skipped_cells
    from eebench.exits import ExitOutputs
    from eebench.layout import CHECKS, CURVE, FIT, MODEL, TEST
    from eebench.policies.checks import check_stage
    from eebench.policies.stages import curve_stage, evaluate_stage, fit_stage
    from eebench.report.aggregate import aggregate_task

    config = load_config(REPO / "config/paper/beem-glue.yaml")
    stsb = [run for run in runs(config) if run.task == "stsb" and run.seed == 0]
    rng = np.random.default_rng(0)
    labels = rng.uniform(0, 5, 120)
    noise = rng.normal(0, 1, (120, 12)) * np.linspace(2, 0.2, 12)
    outputs = ExitOutputs((labels[:, None] + noise)[:, :, None].astype(np.float32), labels, np.arange(120))
    exits = tmp_path / "exits.npz"
    outputs.save(exits)
    data = tmp_path / "data"
    data.mkdir()
    (data / "info.json").write_text(json.dumps({"splits": {"test": {"size": 120, "label_distribution": {}}}}))
    tests, curves, checks, models = [], [], [], []
    for run in stsb:
        folder = {**vars(run)}
        model = tmp_path / MODEL.format(**folder)
        model.mkdir(parents=True)
        (model / "train_log.jsonl").write_text(json.dumps({"step": 1, "loss_per_exit": [1.0] * 12}) + "\n")
        models.append(model)
        checks.append(tmp_path / CHECKS.format(**folder))
        check_stage(exits, exits, None, checks[-1])
    for run, policy in cells(config, stsb):
        cell = {**vars(run), "policy": policy}
        fit_path = tmp_path / FIT.format(**cell)
        fit_stage(exits, None, config["policies"][policy].get("method", policy),
                  {k: v for k, v in config["policies"][policy].items() if k != "method"}, "pearson-spearman", 0.01,
                  fit_path)
        tests.append(tmp_path / TEST.format(**cell))
        evaluate_stage(fit_path, exits, None, "pearson-spearman", tests[-1])
        curves.append(tmp_path / CURVE.format(**cell))
        curve_stage(fit_path, exits, None, "pearson-spearman", 5, curves[-1])
    aggregate_task("stsb", list(config["policies"]), tests, curves, checks, models, data, tmp_path / "out", 0.01,
                   skipped=skipped_cells(config, "stsb"))
    markdown = (tmp_path / "out/tables/stsb.md").read_text()
    assert "left out: needs class probabilities; stsb is a regression task" in markdown
    checks_table = (tmp_path / "out/tables/stsb_checks.csv").read_text()
    assert "test mean absolute error per exit" in checks_table and "ECE" not in checks_table
    assert yaml.safe_load(json.dumps(skipped_cells(config, "stsb")))  # JSON-able, as the rule passes it


def test_list_options_take_numpy_arrays_as_users_of_their_own_logits_write_them():
    from eebench.policies import make_policy, simulate

    rng = np.random.default_rng(0)
    logits, labels = rng.normal(size=(60, 4, 3)), rng.integers(0, 3, size=60)
    weights = [0.25, 0.5, 0.75, 1.0]
    as_list = make_policy("beem-c", alpha=1.2, weights=weights)
    as_array = make_policy("beem-c", alpha=1.2, weights=np.array(weights))
    assert as_array.weights == weights and all(type(w) is float for w in as_array.weights)
    for a, b in zip(simulate(as_list, logits), simulate(as_array, logits)):
        np.testing.assert_array_equal(a, b)
    per_exit = make_policy("entropy", threshold=np.array([0.2, 0.4, 0.6, 0.8], dtype=np.float32))
    assert per_exit.threshold == pytest.approx([0.2, 0.4, 0.6, 0.8])
    assert make_policy("ucb", thresholds=np.linspace(0.5, 0.9, 5)).thresholds == pytest.approx([0.5, 0.6, 0.7, 0.8, 0.9])
    assert make_policy("maxprob", threshold=np.array(0.9)).threshold == 0.9  # a 0-d array is its number
    make_policy("beem-c").fit(logits, labels)  # the array-free path is unchanged
    for bad in (np.ones((2, 2)), np.array([np.nan, 1.0]), np.array([True, False]), np.array([])):
        with pytest.raises(ConfigError, match=r"option 'weights': got .*expected a non-empty list") as error:
            make_policy("beem-c", weights=bad)
        assert "\n" not in str(error.value)


@given(st.one_of(
    st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=6).map(np.array),
    st.lists(st.floats(width=32), max_size=6).map(lambda items: np.array(items, dtype=np.float32)),
    st.lists(st.integers(-2**63, 2**63 - 1), max_size=6).map(lambda items: np.array(items, dtype=np.int64)),
))
def test_an_array_is_accepted_or_refused_exactly_as_its_list(array):
    option = catalogue.number_list("weights", default=None, minimum=0)
    try:
        expected = option.check(array.tolist())
    except ValueError as error:
        with pytest.raises(ValueError, match=re.escape(str(error))):
            option.check(array)
    else:
        assert option.check(array) == expected
