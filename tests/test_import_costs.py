"""Cheap jobs stay cheap: the policy stages (and `policy-cell`, the grid's one job per cell) import neither torch
nor pandas, and predicting with a small CNN/MLP never imports transformers. Each stage runs in a fresh
interpreter, which then lists the heavy modules it loaded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from eebench.exits import ExitOutputs

HEAVY = ("torch", "transformers", "pandas", "altair")


def heavy_modules_after(argv: list[str]) -> set[str]:
    """Run `eebench <argv>` in a new interpreter and return the heavy modules loaded by the time it ends."""
    code = (
        "import json, sys; from eebench.cli import main; rc = main(json.loads(sys.argv[1])); "
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules])); sys.exit(rc)"
    )
    done = subprocess.run([sys.executable, "-c", code, json.dumps(argv)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def fake_exits(path: Path, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(120, 4, 3)).astype(np.float32)  # >= 1/tolerance samples: a val split fit accepts
    ExitOutputs(logits=logits, labels=rng.integers(0, 3, 120), sample_ids=np.arange(120)).save(path)
    return path


def test_policy_stages_import_neither_torch_nor_pandas(tmp_path):
    val, test = fake_exits(tmp_path / "val.npz", 0), fake_exits(tmp_path / "test.npz", 1)
    fit = tmp_path / "fit.json"
    stages = [
        ["fit", "--val", str(val), "--policy", "maxprob", "--out", str(fit)],
        ["evaluate", "--fit", str(fit), "--test", str(test), "--out", str(tmp_path / "test.json")],
        ["curve", "--fit", str(fit), "--test", str(test), "--out", str(tmp_path / "curve.csv")],
        ["policy-cell", "--val", str(val), "--test", str(test), "--policy", "ucb", "--fit-out", str(tmp_path / "f.json"),
         "--test-out", str(tmp_path / "t.json"), "--curve-out", str(tmp_path / "c.csv")],
    ]
    for argv in stages:
        assert heavy_modules_after(argv) == set(), argv[0]


@pytest.fixture(scope="module")
def small_net(tmp_path_factory) -> tuple[Path, Path]:
    from eebench.tasks import prepare_task
    from eebench.training import train_run

    folder = tmp_path_factory.mktemp("small_net")
    prepare_task("digits", {}, folder / "digits", 0)
    train_run(folder / "digits", folder / "model", "mlp", {}, "joint", {}, {"max_steps": 2, "batch_size": 16}, 0)
    return folder / "model", folder / "digits"


@pytest.mark.slow
def test_predict_with_a_small_net_does_not_import_transformers(small_net, tmp_path):
    model, data = small_net
    predict = ["predict", "--model", str(model), "--data", str(data), "--split", "test", "--out", str(tmp_path / "test.npz")]
    predict_run = ["predict-run", "--model", str(model), "--data", str(data), "--val-out", str(tmp_path / "v.npz"),
                   "--test-out", str(tmp_path / "t.npz"), "--costs-out", str(tmp_path / "costs.json")]
    for argv in (predict, predict_run):
        assert heavy_modules_after(argv) == {"torch"}, argv[0]


@pytest.mark.slow
def test_predict_run_writes_what_predict_and_costs_write(small_net, tmp_path):
    """One loaded model for both splits and the costs gives the files of three separate jobs."""
    from eebench.inference import measure_costs, predict_run, predict_split

    model, data = small_net
    predict_run(model, data, tmp_path / "val.npz", tmp_path / "test.npz", tmp_path / "costs.json")
    measure_costs(model, data, tmp_path / "alone_costs.json")
    assert json.loads((tmp_path / "costs.json").read_text()) == json.loads((tmp_path / "alone_costs.json").read_text())
    for split in ("val", "test"):
        predict_split(model, data, split, tmp_path / f"alone_{split}.npz")
        ours, alone = np.load(tmp_path / f"{split}.npz"), np.load(tmp_path / f"alone_{split}.npz")
        assert sorted(ours.files) == sorted(alone.files)
        for name in ours.files:
            np.testing.assert_array_equal(ours[name], alone[name], err_msg=f"{split}: {name}")
