"""The ecosystem's own checks, run by the test suite (and so by CI): `snakefmt --check` on the workflow, `snakemake
--lint`, and ruff's conservative rule set (pyflakes F and syntax errors E9, configured in pyproject.toml) over src/,
tests/, benchmarks/ and scripts/. Each test prints every finding when it fails."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# The one lint kept by design: `prepare` passes policy_fit.tolerance in its shell command rather than in params,
# because a changed param reruns the job (Snakemake's params trigger) and with it every training run of the task;
# the tolerance only decides whether prepare refuses a val split too small for it.
KEPT_LINTS = {("rule prepare", "Shell command directly uses variable config from outside of the rule")}


def run(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], cwd=REPO, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})


def test_snakefmt_check_passes_on_every_snakefile():
    result = run("snakefmt", "--check", "workflow", "Snakefile")
    assert result.returncode == 0, (
        "snakefmt would reformat (run `snakefmt workflow Snakefile`):\n" + result.stdout + result.stderr)


def lints(text: str) -> set[tuple[str, str]]:
    """(what, lint title) for every lint in `snakemake --lint` text output."""
    found, where = set(), None
    for line in text.splitlines():
        if header := re.match(r"Lints for (.+?)(?: \(line \d+, .*\))?:$", line):
            where = header.group(1)
        elif bullet := re.match(r"\s+\* (.+?):?$", line):
            found.add((where, bullet.group(1)))
    return found


def test_snakemake_lint_finds_nothing_but_the_lint_kept_by_design():
    result = run("snakemake", "--lint")
    output = result.stdout + result.stderr
    found = lints(output)
    assert found <= KEPT_LINTS, f"snakemake --lint:\n{output}"
    # Snakemake exits 1 when it prints a lint and 0 when none: anything else (an error loading the workflow) fails.
    assert result.returncode == (1 if found else 0), output
    assert "Lints for" not in output or found, output


def test_ruff_finds_nothing_in_the_python_code():
    folders = ("src", "tests", "benchmarks", "scripts")
    result = run("ruff", "check", "--no-cache", "--output-format", "concise", *folders, timeout=120)
    assert result.returncode == 0, f"ruff check {' '.join(folders)}:\n" + result.stdout + result.stderr


def test_the_slurm_profile_without_the_plugin_fails_with_one_line_naming_the_extra():
    import importlib.util

    import pytest

    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is not None:
        pytest.skip("the SLURM executor plugin is installed here: the profile's check passes")
    result = run("snakemake", "--profile", "slurm", "-n", timeout=120)
    # Snakemake itself prints "Using profile slurm for setting default command line arguments." first, always.
    lines = [line for line in (result.stdout + result.stderr).splitlines() if not line.startswith("Using profile")]
    assert result.returncode == 1 and len(lines) == 1, result.stdout + result.stderr
    assert "eebench[slurm]" in lines[0] and "pip install -e '.[slurm]'" in lines[0], lines[0]


def test_the_workflow_catalog_settings_and_the_container_recipes_hold_what_they_point_to():
    import yaml

    settings = yaml.safe_load((REPO / ".snakemake-workflow-catalog.yml").read_text())["usage"]
    assert settings["software-stack-deployment"]["conda"] is True and settings["report"] is True
    # the catalog's "standardized usage" needs these beside the settings file
    assert (REPO / "workflow" / "Snakefile").is_file() and (REPO / "config" / "README.md").is_file()
    # one torch version everywhere the software is described
    versions = {
        "scripts/setup.sh": re.search(r"EEBENCH_TORCH_VERSION:-([\d.]+)", (REPO / "scripts/setup.sh").read_text()),
        "environment.yml": re.search(r"torch==([\d.]+)", (REPO / "environment.yml").read_text()),
        "workflow/envs/eebench.yaml": re.search(r"torch==([\d.]+)", (REPO / "workflow/envs/eebench.yaml").read_text()),
        "workflow/envs/Dockerfile": re.search(r"TORCH_VERSION=([\d.]+)", (REPO / "workflow/envs/Dockerfile").read_text()),
        "workflow/envs/eebench.def": re.search(r'"torch==([\d.]+)"', (REPO / "workflow/envs/eebench.def").read_text()),
    }
    found = {name: match and match.group(1) for name, match in versions.items()}
    assert len(set(found.values())) == 1 and None not in found.values(), found
