"""A training run killed partway (SIGTERM as SLURM sends it, or SIGKILL after a periodic checkpoint) resumes when
rerun and ends with exactly the exit logits of an uninterrupted run with the same seed."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from eebench.exits import load_exit_outputs
from eebench.inference import predict_split
from eebench.tasks import prepare_task
from eebench.training import train_run

TRAINING = {"epochs": 100, "max_steps": 1000, "batch_size": 16, "lr": 0.002, "checkpoint_every": 50, "device": "cpu"}
ARGS = ("mlp", {"hidden": 64}, "joint-kl", {})


def train_in_subprocess(data: Path, model_dir: Path) -> subprocess.Popen:
    code = (
        "import sys, json; from pathlib import Path; from eebench.training import train_run; "
        "a = json.loads(sys.argv[1]); "
        "train_run(Path(a['data']), Path(a['out']), *a['args'], a['training'], 0)"
    )
    payload = json.dumps({"data": str(data), "out": str(model_dir), "args": ARGS, "training": TRAINING})
    return subprocess.Popen([sys.executable, "-c", code, payload], stderr=subprocess.PIPE, text=True)


def wait_for_checkpoint(model_dir: Path, process: subprocess.Popen, timeout: float = 120) -> None:
    root = model_dir.with_name(model_dir.name + ".checkpoints")
    deadline = time.monotonic() + timeout
    while not any(root.glob("step-*/state.json")):
        assert process.poll() is None, f"training ended before its first checkpoint: {process.stderr.read()}"
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.parametrize("kill_signal", [signal.SIGTERM, signal.SIGKILL])
def test_killed_run_resumes_to_the_uninterrupted_result(tmp_path, kill_signal):
    data = tmp_path / "digits"
    prepare_task("digits", {}, data, 0)

    train_run(data, tmp_path / "reference", *ARGS, TRAINING, 0)
    predict_split(tmp_path / "reference", data, "test", tmp_path / "reference.npz")

    model_dir = tmp_path / "model"
    process = train_in_subprocess(data, model_dir)
    wait_for_checkpoint(model_dir, process)
    process.send_signal(kill_signal)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == -kill_signal, stderr
    assert not model_dir.exists()
    if kill_signal == signal.SIGTERM:
        assert "checkpoint written" in stderr

    train_run(data, model_dir, *ARGS, TRAINING, 0)
    predict_split(model_dir, data, "test", tmp_path / "resumed.npz")
    resumed, reference = load_exit_outputs(tmp_path / "resumed.npz"), load_exit_outputs(tmp_path / "reference.npz")
    assert np.array_equal(resumed.logits, reference.logits)
    log = (model_dir / "train_log.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in log] == list(range(1, TRAINING["max_steps"] + 1))
    assert not model_dir.with_name("model.checkpoints").exists()


def test_checkpoint_made_with_other_settings_is_not_resumed(tmp_path, capfd):
    data = tmp_path / "digits"
    prepare_task("digits", {}, data, 0)
    short = {**TRAINING, "max_steps": 30, "checkpoint_every": 10}
    process = train_in_subprocess(data, tmp_path / "model")  # writes checkpoints with TRAINING's settings
    wait_for_checkpoint(tmp_path / "model", process)
    process.kill()
    process.communicate()
    train_run(data, tmp_path / "model", *ARGS, short, 0)
    assert "ignoring checkpoint" in capfd.readouterr().err
    assert len((tmp_path / "model" / "train_log.jsonl").read_text().splitlines()) == 30
