"""A training run killed partway (SIGTERM as SLURM sends it, Ctrl-C, SIGKILL after a periodic checkpoint, a node crash
that leaves the newest checkpoint corrupt, or a Snakemake that dies under its trainer) resumes when rerun and ends
with exactly the exit logits of an uninterrupted run with the same seed. These are the README's "When a run is
interrupted" recipes."""

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
    """`eebench train` as Snakemake runs it, for the tiny run above."""
    command = [
        sys.executable, "-m", "eebench.cli", "train", "--data", str(data), "--backbone", ARGS[0],
        "--backbone-options", json.dumps(ARGS[1]), "--strategy", ARGS[2], "--strategy-options", json.dumps(ARGS[3]),
        "--training", json.dumps(TRAINING), "--seed", "0", "--out", str(model_dir),
    ]
    # A shell running pytest in the background ignores SIGINT, and children inherit that; let Ctrl-C through.
    return subprocess.Popen(command, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def wait_for_checkpoint(model_dir: Path, process: subprocess.Popen, timeout: float = 120, count: int = 1) -> None:
    root = model_dir.with_name(model_dir.name + ".checkpoints")
    deadline = time.monotonic() + timeout
    while len(list(root.glob("step-*/state.json"))) < count:
        assert process.poll() is None, f"training ended before checkpoint {count}: {process.stderr.read()}"
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[Path, np.ndarray]:
    """The digits data and the test logits of an uninterrupted run."""
    root = tmp_path_factory.mktemp("reference")
    prepare_task("digits", {}, root / "digits", 0)
    train_run(root / "digits", root / "model", *ARGS, TRAINING, 0)
    predict_split(root / "model", root / "digits", "test", root / "reference.npz")
    return root / "digits", load_exit_outputs(root / "reference.npz").logits


def assert_resumes_to_reference(data: Path, model_dir: Path, reference_logits: np.ndarray, tmp_path: Path) -> None:
    train_run(data, model_dir, *ARGS, TRAINING, 0)
    predict_split(model_dir, data, "test", tmp_path / "resumed.npz")
    assert np.array_equal(load_exit_outputs(tmp_path / "resumed.npz").logits, reference_logits)
    log = (model_dir / "train_log.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in log] == list(range(1, TRAINING["max_steps"] + 1))
    assert not model_dir.with_name(model_dir.name + ".checkpoints").exists()


@pytest.mark.slow
@pytest.mark.parametrize("kill_signal", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_killed_run_resumes_to_the_uninterrupted_result(tmp_path, reference, kill_signal):
    """SIGTERM: SLURM's time limit, preemption and scancel; SIGINT: Ctrl-C; SIGKILL: the OOM killer, kill -9."""
    data, reference_logits = reference
    model_dir = tmp_path / "model"
    process = train_in_subprocess(data, model_dir)
    wait_for_checkpoint(model_dir, process)
    process.send_signal(kill_signal)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == (130 if kill_signal == signal.SIGINT else -kill_signal), stderr
    assert "Traceback" not in stderr
    assert not model_dir.exists()
    lock = model_dir.with_name("model.checkpoints") / "trainer.lock"
    if kill_signal == signal.SIGTERM:
        assert "checkpoint written" in stderr
    # A trainer that could clean up releases its lock (a requeued job may start on another node); after SIGKILL
    # the lock names a dead process on this host, and the rerun takes it over.
    assert lock.exists() == (kill_signal == signal.SIGKILL)
    assert_resumes_to_reference(data, model_dir, reference_logits, tmp_path)


@pytest.mark.slow
def test_node_crash_with_a_corrupt_newest_checkpoint_resumes_from_the_one_before(tmp_path, reference, capfd):
    data, reference_logits = reference
    model_dir = tmp_path / "model"
    process = train_in_subprocess(data, model_dir)
    wait_for_checkpoint(model_dir, process, count=2)
    process.kill()
    process.communicate()
    newest = sorted(model_dir.with_name("model.checkpoints").glob("step-*"))[-1]
    weights = newest / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])  # what a crash before the data reached the disk can leave
    assert_resumes_to_reference(data, model_dir, reference_logits, tmp_path)
    assert f"checkpoint {newest} is corrupt" in capfd.readouterr().err


@pytest.mark.slow
def test_trainer_whose_snakemake_died_stops_at_its_next_checkpoint(tmp_path, reference):
    """Snakemake runs `eebench train … | tee log` in a shell; when Snakemake is killed the shell lives on, re-parented.
    The trainer notices at its next checkpoint, writes it and stops without a model, so nothing is left running and
    `--rerun-incomplete` has no finished-but-unrecorded model to throw away. (A trainer not started by Snakemake,
    e.g. under `nohup`, trains on when its shell ends.)"""
    data, reference_logits = reference
    model_dir = tmp_path / "model"
    command = (
        f"{sys.executable} -m eebench.cli train --data {data} --backbone {ARGS[0]} --backbone-options "
        f"'{json.dumps(ARGS[1])}' --strategy {ARGS[2]} --training '{json.dumps(TRAINING)}' --seed 0 "
        f"--out {model_dir} 2>&1 | tee {tmp_path / 'train.log'}"
    )
    stand_in = tmp_path / "snakemake"  # the trainer recognises its Snakemake by name
    stand_in.write_text("import subprocess, sys\nsubprocess.run(['bash', '-c', sys.argv[1]])\n")
    fake_snakemake = subprocess.Popen([sys.executable, str(stand_in), command], stderr=subprocess.PIPE, text=True)
    wait_for_checkpoint(model_dir, fake_snakemake)
    lock = model_dir.with_name("model.checkpoints") / "trainer.lock"
    trainer_pid = json.loads(lock.read_text())["pid"]
    fake_snakemake.kill()
    fake_snakemake.communicate()
    deadline = time.monotonic() + 120
    while Path(f"/proc/{trainer_pid}").exists():
        assert time.monotonic() < deadline, "the orphaned trainer kept running"
        time.sleep(0.1)
    assert not model_dir.exists() and not lock.exists()
    log = (tmp_path / "train.log").read_text()
    assert "has ended" in log and "Traceback" not in log
    assert_resumes_to_reference(data, model_dir, reference_logits, tmp_path)


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


@pytest.mark.slow
def test_killed_snakemake_recovers_with_unlock_and_rerun_incomplete(tmp_path):
    """The README's recipe after `kill -9` of Snakemake mid-training: `--unlock`, then `--rerun-incomplete`."""
    import os

    import yaml
    from test_workflow import REPO, snakemake

    config = {
        "results_dir": "results", "seeds": [0], "policies": {"final": {}},
        "experiments": [{"task": "digits", "backbones": ["mlp"], "strategies": ["joint-kl"], "training": TRAINING}],
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    first = subprocess.Popen(
        [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(tmp_path),
         "--configfile", str(tmp_path / "config.yaml"), "--cores", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
    )
    model_dir = tmp_path / "results" / "runs" / "digits" / "mlp" / "joint-kl" / "seed0" / "model"
    wait_for_checkpoint(model_dir, first, timeout=300)
    lock = model_dir.with_name("model.checkpoints") / "trainer.lock"
    first.kill()
    first.communicate()
    deadline = time.monotonic() + 120
    while lock.exists():  # the orphaned trainer stops at its next checkpoint and releases its lock
        assert time.monotonic() < deadline, "the orphaned trainer kept running"
        time.sleep(0.1)
    assert not model_dir.exists()

    locked = snakemake(tmp_path, check=False)
    assert locked.returncode != 0 and "--unlock" in locked.stdout + locked.stderr
    snakemake(tmp_path, "--unlock")
    snakemake(tmp_path, "--rerun-incomplete")
    assert "resuming from" in (tmp_path / "results" / "logs" / "train" / "digits" / "mlp" / "joint-kl" / "seed0.log").read_text()
    log = (model_dir / "train_log.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in log] == list(range(1, TRAINING["max_steps"] + 1))
