"""Determinism as docs/performance.md states it, first half: on one machine, with the same thread count and the same
library versions, a run trained twice with the same seed gives identical weights and byte-identical exit logits.
Each training runs in a fresh Python process through the commands the workflow's jobs run (`eebench train`, then
`eebench predict-run`), so nothing but the seed is shared between the two. (The second half, across machines:
close, not identical, is not something one machine can test.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from eebench.exits import load_exit_outputs
from eebench.tasks import prepare_task

# A small CNN with dropout (so the seeded RNG streams matter): one epoch of digits, a few seconds.
BACKBONE_OPTIONS = {"channels": 8, "n_layers": 2, "dropout": 0.1}
TRAINING = {"epochs": 1, "batch_size": 64, "lr": 0.002}
THREADS = "2"  # the same for both runs: another thread count may split reductions, and so round, differently

# One process per run: `eebench train …` then `eebench predict-run …`, as two workflow jobs would run them (through
# the CLI's own entry point; one process instead of two only saves a second torch import).
RUN = """
import sys
from eebench.cli import main
data, out = sys.argv[1], sys.argv[2]
assert main(["train", "--data", data, "--backbone", "cnn", "--strategy", "joint", "--seed", "0",
             "--backbone-options", sys.argv[3], "--training", sys.argv[4], "--out", out + "/model"]) == 0
assert main(["predict-run", "--model", out + "/model", "--data", data, "--val-out", out + "/val.npz",
             "--test-out", out + "/test.npz", "--costs-out", out + "/costs.json"]) == 0
"""


def train_and_predict(data: Path, out: Path) -> Path:
    env = {**os.environ, "OMP_NUM_THREADS": THREADS, "MKL_NUM_THREADS": THREADS}
    result = subprocess.run([sys.executable, "-c", RUN, str(data), str(out), json.dumps(BACKBONE_OPTIONS),
                             json.dumps(TRAINING)], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return out


def test_same_seed_and_threads_give_identical_weights_and_exit_logits(tmp_path):
    data = tmp_path / "digits"
    prepare_task("digits", {}, data, 0)
    first, again = (train_and_predict(data, tmp_path / name) for name in ("first", "again"))
    weights = "model/model.safetensors"
    assert (first / weights).read_bytes() == (again / weights).read_bytes(), "same seed, different weights"
    for split in ("val", "test"):
        ours, theirs = load_exit_outputs(first / f"{split}.npz"), load_exit_outputs(again / f"{split}.npz")
        assert ours.logits.dtype == theirs.logits.dtype and ours.logits.shape == theirs.logits.shape
        # byte for byte (a plain == would let -0.0 match 0.0 and fail on NaN)
        assert np.array_equal(ours.logits.view(np.uint8), theirs.logits.view(np.uint8)), f"{split} logits differ"
        assert np.array_equal(ours.labels, theirs.labels)
    assert (first / "costs.json").read_text() == (again / "costs.json").read_text()
