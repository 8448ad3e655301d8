"""Cheap jobs stay cheap: the policy stages import neither torch nor pandas, and predicting with a small CNN/MLP
never imports transformers. Each stage runs in a fresh interpreter, which then lists the heavy modules it loaded."""

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
    ]
    for argv in stages:
        assert heavy_modules_after(argv) == set(), argv[0]


@pytest.mark.slow
def test_predict_with_a_small_net_does_not_import_transformers(tmp_path):
    from eebench.tasks import prepare_task
    from eebench.training import train_run

    prepare_task("digits", {}, tmp_path / "digits", 0)
    train_run(tmp_path / "digits", tmp_path / "model", "mlp", {}, "joint", {}, {"max_steps": 2, "batch_size": 16}, 0)
    argv = ["predict", "--model", str(tmp_path / "model"), "--data", str(tmp_path / "digits"), "--split", "test",
            "--out", str(tmp_path / "test.npz")]
    assert heavy_modules_after(argv) == {"torch"}
