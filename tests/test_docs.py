"""The documentation site builds offline with `mkdocs build --strict` (a broken link or a missing page fails), and
its generated pages hold what they are generated from."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from eebench import catalogue

REPO = Path(__file__).resolve().parents[1]


def test_the_site_builds_strictly_with_generated_reference_and_configuration(tmp_path):
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                            cwd=REPO, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    reference = (tmp_path / "site" / "reference" / "index.html").read_text(encoding="utf-8")
    for policy in catalogue.components("policy"):
        assert policy in reference
    configuration = (tmp_path / "site" / "configuration" / "index.html").read_text(encoding="utf-8")
    assert "policy_fit.keep_degenerate_exits" in configuration and "eebench:include" not in configuration


def test_the_readme_stays_short():
    assert len((REPO / "README.md").read_text(encoding="utf-8").splitlines()) <= 250

