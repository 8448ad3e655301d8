"""The grid on a real SLURM cluster through the project's profile (`slurm/`), on a one-node cluster these tests start
on this machine (tests/slurm/start-cluster.sh; root and Debian's slurm packages needed, else they skip):

- a tiny grid through `snakemake --profile slurm` gives exactly the results of a local run, with the profile's
  per-rule requests reaching SLURM (GPU rules ask for a GPU; the policy cells go as one grouped job);
- a training job cancelled with `scancel` after its first checkpoint is retried by the profile, resumes from the
  checkpoint, and ends with exactly the results of an uninterrupted run.

The test node pretends to be a GPU node (16 CPUs, 64 GB, 4 GPUs as bare device counts) so the shipped profile runs
unchanged; torch still runs on the CPU. Every snakemake run has a timeout, after which it is interrupted (it
cancels its SLURM jobs) and the test fails with its log."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
PROFILE = REPO / "slurm"
CLUSTER_SCRIPTS = REPO / "tests" / "slurm"
RUN = "results/runs/digits/mlp/joint/seed0"
POLICIES = ["final", "maxprob", "patience"]

# Long enough (~2000 optimizer steps, ~10 s) that the fault test can cancel the job between its first checkpoint
# and its end; a checkpoint every 50 steps.
TINY = {
    "results_dir": "results",
    "seeds": [0],
    "experiments": [
        {
            "task": "digits",
            "backbones": ["mlp"],
            "strategies": ["joint"],
            "training": {"epochs": 30, "lr": 0.003, "batch_size": 16, "warmup_ratio": 0.0, "checkpoint_every": 50,
                         "device": "cpu"},
        }
    ],
    "tasks": {"digits": {}},
    "policies": {name: {} for name in POLICIES},
    "policy_fit": {"tolerance": 0.02, "curve_points": 8},
    # One real early-exit timing: a GPU rule that waits on a grouped policy cell.
    "latency": {"policies": ["maxprob"], "batch_sizes": [1, 32]},
}

# The profile waits 20 s before its first status poll, sensible on a busy cluster; here jobs take seconds, so poll
# after 2 s (each poll that finds nothing finished waits 10 s longer, so this decides the tests' wall time).
FAST_POLL = ("--slurm-init-seconds-before-status-checks", "2")
SNAKEMAKE_TIMEOUT = 300

pytestmark = [pytest.mark.slurm, pytest.mark.slow]


# ------------------------------------------------------------------------------------------------- helpers


def write_config(workdir: Path) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "config.yaml").write_text(yaml.safe_dump(TINY, sort_keys=False))
    return workdir


class Snakemake:
    """One snakemake process in `workdir` (its own process group, output in `workdir/snakemake.log`)."""

    def __init__(self, workdir: Path, *args: str):
        self.workdir = workdir
        self.log_path = workdir / "snakemake.log"
        # The jobs find `eebench` and this Python through PATH (SLURM jobs get the submitter's environment).
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
               "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
        command = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"),
                   "--configfile", "config.yaml", *args]
        self.jobs: list[dict[str, str]] = []  # SLURM jobs of the run, filled in by the slurm_run fixture
        self.started = time.monotonic()
        with open(self.log_path, "w") as log:
            # cwd, not --directory: the SLURM plugin runs jobs in the directory snakemake was started in.
            self.process = subprocess.Popen(command, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def wait(self, timeout: float = SNAKEMAKE_TIMEOUT) -> str:
        """Wait for a successful end; on failure or timeout fail the test with the log's tail."""
        remaining = max(1.0, timeout - (time.monotonic() - self.started))
        try:
            self.process.wait(timeout=remaining)
        except subprocess.TimeoutExpired:
            self.interrupt()
            pytest.fail(f"snakemake did not finish in {timeout} s; log tail:\n{self.log[-6000:]}")
        if self.process.returncode != 0:
            pytest.fail(f"snakemake failed (exit {self.process.returncode}); log tail:\n{self.log[-6000:]}")
        return self.log

    def interrupt(self) -> None:
        # SIGINT makes snakemake cancel its SLURM jobs (scancel) before it exits; SIGKILL its group if it hangs.
        if not self.alive():
            return
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def profile_threads() -> dict[str, int]:
    return yaml.safe_load((PROFILE / "config.yaml").read_text())["set-threads"]


def slurm_jobs(run_id: str) -> list[dict[str, str]]:
    """Every SLURM job of one snakemake run (jobs are named by the run's id), finished ones included."""
    fields = ["JobID", "Comment", "tres-per-job", "NumCPUs", "MinMemory", "State"]
    out = subprocess.run(["squeue", "-h", "-t", "all", "--name", run_id, "-O", ",".join(f"{f}:|" for f in fields)],
                         capture_output=True, text=True, check=True).stdout
    return [dict(zip(fields, (cell.strip() for cell in line.split("|")))) for line in out.splitlines() if line.strip()]


def run_id_of(log: str) -> str:
    for line in log.splitlines():
        if "SLURM run ID:" in line:
            return line.split("SLURM run ID:", 1)[1].strip()
    raise AssertionError(f"no 'SLURM run ID' in the snakemake log:\n{log[-3000:]}")


def assert_same_exits(workdir: Path, reference: Path, split: str) -> None:
    ours, theirs = np.load(workdir / RUN / "exits" / f"{split}.npz"), np.load(reference / RUN / "exits" / f"{split}.npz")
    for key in ("logits", "labels", "sample_ids"):
        np.testing.assert_array_equal(ours[key], theirs[key], err_msg=f"exits/{split}.npz: {key} differ")


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())


# ------------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def slurm_cluster():
    """A running one-node cluster; stopped at the end if these tests started it."""
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        pytest.skip("the SLURM executor plugin is not installed: pip install -e '.[slurm]' (scripts/test-slurm.sh does)")
    if os.geteuid() != 0:
        pytest.skip("the SLURM tests start slurmctld/slurmd and may apt-get install them: they need root")
    if shutil.which("dpkg-query") is None:
        pytest.skip("the SLURM tests need a Debian-like system (dpkg, apt) to install slurm")
    was_running = any(_alive(pidfile) for pidfile in ("/run/slurm/slurmctld.pid", "/run/slurm/slurmd.pid"))
    started = subprocess.run(["bash", str(CLUSTER_SCRIPTS / "start-cluster.sh")], capture_output=True, text=True,
                             timeout=600)
    if started.returncode == 3:
        pytest.skip(f"slurm packages unavailable: {started.stderr.strip()}")
    assert started.returncode == 0, f"start-cluster.sh failed:\n{started.stdout}\n{started.stderr}"
    try:
        yield
    finally:
        if not was_running:
            subprocess.run(["bash", str(CLUSTER_SCRIPTS / "stop-cluster.sh")], capture_output=True, timeout=120)


def _alive(pidfile: str) -> bool:
    try:
        os.kill(int(Path(pidfile).read_text().strip()), 0)
        return True
    except (OSError, ValueError):
        return False


@pytest.fixture(scope="module")
def local_run(tmp_path_factory, slurm_cluster) -> Snakemake:
    """The reference: the same grid with the local executor, started at once so it runs while the SLURM run mostly
    waits on status polls. Same threads per rule as the profile gives the SLURM jobs (so torch and BLAS split work
    the same way and the results must agree to the bit); `--cores` is only a budget and may exceed the machine's."""
    threads = profile_threads()
    workdir = write_config(tmp_path_factory.mktemp("local"))
    return Snakemake(workdir, "--cores", str(max(threads.values())),
                     "--set-threads", *(f"{rule}={n}" for rule, n in threads.items()))


@pytest.fixture(scope="module")
def slurm_run(tmp_path_factory, local_run) -> Snakemake:
    run = Snakemake(write_config(tmp_path_factory.mktemp("slurm")), "--profile", str(PROFILE), *FAST_POLL, "all")
    run.wait()
    # Read the jobs now: squeue forgets finished jobs after MinJobAge (300 s).
    run.jobs = slurm_jobs(run_id_of(run.log))
    return run


# ------------------------------------------------------------------------------------------------- tests


def test_profile_runs_the_grid_on_slurm_like_a_local_run(slurm_run, local_run):
    local_run.wait()
    ours, reference = slurm_run.workdir, local_run.workdir
    for split in ("val", "test"):
        assert_same_exits(ours, reference, split)
    for policy in POLICIES:
        for name in ("fit.json", "test.json"):
            path = f"{RUN}/policies/{policy}/{name}"
            assert read_json(ours / path) == read_json(reference / path), f"{path} differs from the local run's"
        curve = f"{RUN}/policies/{policy}/curve.csv"
        assert (ours / curve).read_text() == (reference / curve).read_text(), f"{curve} differs"
    assert read_json(ours / RUN / "checks.json") == read_json(reference / RUN / "checks.json")
    table = "results/tables/digits.csv"
    assert (ours / table).read_text() == (reference / table).read_text(), f"{table} differs from the local run's"


def test_profile_requests_reach_slurm(slurm_run):
    """The profile's per-rule resources arrive in SLURM: GPU rules (latency too, which waits on a grouped cell) ask
    for a GPU and their CPUs, the NumPy policy cells of the run go as one grouped 1-CPU job, every job completed."""
    jobs = slurm_run.jobs
    by_rule: dict[str, list[dict]] = {}
    for job in jobs:
        rule = job["Comment"].removeprefix("rule_").split("_wildcards_")[0]
        by_rule.setdefault(rule, []).append(job)
    assert all(job["State"] == "COMPLETED" for job in jobs), jobs
    threads = profile_threads()
    for rule in ("train", "predict_run", "latency"):
        for job in by_rule[rule]:
            assert job["tres-per-job"] == "gres:gpu:1", job
            assert int(job["NumCPUs"]) == threads[rule], job
    assert len(by_rule["train"]) == 1 and len(by_rule["predict_run"]) == 1 and len(by_rule["latency"]) == 1
    assert (slurm_run.workdir / RUN / "policies" / "maxprob" / "latency.json").is_file()
    cell_jobs = [jobs for rule, jobs in by_rule.items() if rule.startswith("cells")]
    assert len(cell_jobs) == 1 and len(cell_jobs[0]) == 1, f"policy cells not grouped into one job: {by_rule.keys()}"
    assert cell_jobs[0][0]["NumCPUs"] == "1" and cell_jobs[0][0]["tres-per-job"] == "N/A"
    assert not any(rule in by_rule for rule in ("policy_cell", "check")), "a policy cell ran on its own"


def test_cancelled_training_resumes_from_its_checkpoint(tmp_path, slurm_cluster, local_run):
    """scancel the train job once it has checkpointed (SLURM sends SIGTERM, then SIGKILL, as on preemption or at
    the time limit): the profile's retries resubmit it, it resumes from the checkpoint, and the model and its exit
    logits are exactly those of the uninterrupted local run."""
    local_run.wait()
    workdir = write_config(tmp_path / "fault")
    # The prepared data of the reference run, so this run starts at `train` (saves a SLURM round trip).
    shutil.copytree(local_run.workdir / "results" / "data", workdir / "results" / "data")
    target = f"{RUN}/exits/test.npz"
    run = Snakemake(workdir, "--profile", str(PROFILE), *FAST_POLL, target)
    try:
        job_id = wait_for_checkpointed_train_job(run, workdir)
        subprocess.run(["scancel", job_id], check=True)
        log = run.wait()
    finally:
        run.interrupt()

    assert f"SLURM-job '{job_id}' failed, SLURM status is: 'CANCELLED'" in log, log[-4000:]
    assert "Trying to restart job" in log, "the profile's retries did not resubmit the cancelled job"
    train_log = (workdir / "results/logs/train/digits/mlp/joint/seed0.log").read_text()
    assert "eebench: resuming from" in train_log, f"the retried job started from scratch:\n{train_log[-2000:]}"
    assert not (workdir / RUN / "model.checkpoints").exists(), "checkpoints are removed once the model is written"
    reference = local_run.workdir
    assert training_losses(workdir) == training_losses(reference), "the resumed run's losses differ"
    assert (workdir / RUN / "model" / "model.safetensors").read_bytes() == \
        (reference / RUN / "model" / "model.safetensors").read_bytes(), "the resumed run's weights differ"
    assert_same_exits(workdir, reference, "test")


def training_losses(workdir: Path) -> list[dict]:
    """The training log without its throughput (examples/s), which is timing, not training."""
    lines = (workdir / RUN / "model" / "train_log.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k != "examples_per_second"} for line in lines]


def wait_for_checkpointed_train_job(run: Snakemake, workdir: Path, timeout: float = 180) -> str:
    """The SLURM id of the running train job, once its first checkpoint exists."""
    checkpoints = workdir / RUN / "model.checkpoints"
    deadline = time.monotonic() + timeout
    while not any(checkpoints.glob("step-*/state.json")):
        if not run.alive():
            pytest.fail(f"snakemake ended before training checkpointed; log tail:\n{run.log[-4000:]}")
        if (workdir / RUN / "model").exists():
            pytest.fail("training finished before the test saw a checkpoint: make TINY's training longer")
        if time.monotonic() > deadline:
            pytest.fail(f"no training checkpoint after {timeout} s; log tail:\n{run.log[-4000:]}")
        time.sleep(0.1)
    jobs = slurm_jobs(run_id_of(run.log))
    running = [job["JobID"] for job in jobs if job["Comment"].startswith("rule_train_") and job["State"] == "RUNNING"]
    assert len(running) == 1, f"expected one running train job, got {jobs}"
    return running[0]
