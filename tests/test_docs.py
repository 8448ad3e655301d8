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


def test_every_generated_block_in_the_docs_holds_a_stamped_measurement():
    """A block of benchmarks/performance_page.py is written by its benchmark, never left empty or by hand without
    the stamp that says when, at which commit and on which machine it was measured."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import performance_page as page
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    for name, benchmark in page.BENCHMARKS.items():
        text = benchmark.page.read_text(encoding="utf-8")
        content, end = page.block_span(text, name, benchmark.page)
        block = text[content:end].strip()
        assert block.startswith("*Measured "), f"{benchmark.page.relative_to(REPO)}: block {name} has no measurement"
        assert "at eebench `" in block.split("\n", 1)[0], name
