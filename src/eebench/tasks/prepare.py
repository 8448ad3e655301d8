"""`eebench prepare`: build a task's splits and write them with info.json."""

from __future__ import annotations

import os
from typing import Any

from .. import catalogue
from ..io import atomic_folder
from ..catalogue import OptionError
from .registry import get_task
from .storage import write_prepared


def prepare_task(name: str, options: dict | None, out_dir: str | os.PathLike, seed: int,
                 tolerance: float | None = None) -> dict[str, Any]:
    """Validate the options, build the task's train/val/test splits and write them to `out_dir`; returns the
    info written to info.json. With `tolerance` (the config's policy_fit.tolerance), a val split too small for it
    is refused here, before any training, naming the option that sized it. Nothing is written when the options
    or the data are bad."""
    from ..config import val_size_problem

    spec = get_task(name)
    resolved = catalogue.get("task", name).check(options)
    if spec.prepare is not None:  # its val split is judged by a corpus metric, not by counting changed samples
        return spec.prepare(resolved, out_dir, seed)
    prepared = spec.build(resolved, seed)
    n_val = len(prepared.splits["val"])
    problem = None if tolerance is None else val_size_problem(n_val, tolerance)
    if problem:
        source = prepared.notes.get("source")
        raise OptionError(f"task {name!r}", val_size_option(resolved, n_val),
                          f"too small a val split for policy_fit.tolerance: {problem}"
                          + (f" (data: {source})" if source else ""))
    with atomic_folder(out_dir) as folder:  # a failure (a full disk) leaves no half-written data folder
        return write_prepared(folder, spec, prepared, resolved, seed)


def val_size_option(options: dict[str, Any], n_val: int) -> str | None:
    """The option that decided a val split of `n_val` samples: the val file(s), a cap it reached, an exact size,
    or the share of train held out."""
    if options.get("val") is not None:
        return "val"
    if options.get("max_val") == n_val:
        return "max_val"
    return next((key for key in ("val_size", "val_fraction") if key in options), None)
