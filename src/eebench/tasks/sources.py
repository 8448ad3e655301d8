"""Where a task's data comes from: the Hugging Face hub through `datasets` (imported only when a task asks
for it) or a local folder given by the `path` option."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import ConfigError, DataError


def load_hub_split(repo: str, config: str | None, split: str) -> Any:
    """One split of a hub dataset as a `datasets.Dataset`; failures (offline, gated, renamed) are one DataError."""
    try:
        import datasets
    except ImportError:
        raise ConfigError("source 'hub' needs the 'datasets' package (pip install datasets), or use source: local") from None
    where = f"hub dataset '{repo}'" + (f" config '{config}'" if config else "") + f" split '{split}'"
    try:
        return datasets.load_dataset(repo, config, split=split)
    except Exception as exc:  # network, auth and naming errors all come from deep inside datasets
        raise DataError(f"{where}: could not load ({type(exc).__name__}: {exc}); offline? use source: local") from None


def local_folder(task: str, options: dict) -> Path:
    """The `path` option as an existing folder (required with source: local); relative paths are taken from
    the working directory (the repository root under Snakemake)."""
    if options.get("path") is None:
        raise ConfigError(f"task '{task}', option 'path': required with source 'local' (a folder)")
    path = Path(options["path"]).expanduser()
    if not path.is_dir():
        raise DataError(f"'{path}': folder not found (task '{task}', option 'path')")
    return path
