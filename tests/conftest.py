"""Shared test fixtures. Real data comes from ../shared/data, or from the folder named by EEBENCH_SHARED_DATA;
tests that need it skip with a clear reason when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    return Path(os.environ.get("EEBENCH_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = shared_data_dir()
    if not path.is_dir():
        pytest.skip(f"real data folder {path} is absent (set EEBENCH_SHARED_DATA to point at it)")
    return path


@pytest.fixture
def one_thread():
    """Tiny models gain nothing from intra-op threads and lose much when other processes hold the cores."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
