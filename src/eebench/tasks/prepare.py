"""`eebench prepare`: build a task's splits and write them with info.json."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .. import catalogue
from .registry import get_task
from .storage import write_prepared


def prepare_task(name: str, options: dict | None, out_dir: str | os.PathLike, seed: int) -> dict[str, Any]:
    """Validate the options, build the task's train/val/test splits and write them to `out_dir`; returns the
    info written to info.json. Nothing is written when the options or the data are bad."""
    spec = get_task(name)
    resolved = catalogue.get("task", name).check(options)
    prepared = spec.build(resolved, seed)
    return write_prepared(Path(out_dir), spec, prepared, resolved, seed)
