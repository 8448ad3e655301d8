"""The papers' published figures and claims, as data (`eebench/resources/papers/published.csv`, its sources noted in
the README beside it), for the report's "Paper vs eebench" section. Torch-free.

Every row must name where it was printed: `source` holds it, or `same` for the row above's source, which the
loader resolves, so each returned row carries its own source. A row without one, a first row saying `same`, an
unknown `kind` or a missing column is one DataError naming the file, line and column."""

from __future__ import annotations

import csv
import importlib.resources
from pathlib import Path

import pandas as pd

from ..errors import DataError

COLUMNS = ("paper", "source", "kind", "backbone", "task", "split", "method", "metric", "value", "speedup", "note")
REQUIRED = ("paper", "source", "kind", "metric")
KINDS = ("figure", "claim", "replication")  # a table's number, a statement in the text, someone else's run
SAME_SOURCE = "same"


def published_path() -> Path:
    return Path(str(importlib.resources.files("eebench") / "resources" / "papers" / "published.csv"))


def load_published(path: str | Path | None = None) -> pd.DataFrame:
    """One row per published figure or claim, in file order, `source` resolved; `line` is its line in the file."""
    path = Path(path) if path is not None else published_path()
    if not path.is_file():
        raise DataError(f"'{path}': file not found")
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [name for name in COLUMNS if name not in (reader.fieldnames or [])]
        if missing:
            raise DataError(f"'{path}': missing column '{missing[0]}' (needs: {', '.join(COLUMNS)})")
        rows, previous_source = [], None
        for row in reader:
            line = reader.line_num
            row = {name: (row[name] or "").strip() for name in COLUMNS}
            for name in REQUIRED:
                if not row[name]:
                    raise DataError(f"'{path}', line {line}, column '{name}': empty (every row needs one)")
            if row["source"] == SAME_SOURCE:
                if previous_source is None:
                    raise DataError(f"'{path}', line {line}, column 'source': 'same' on the first row has no row above")
                row["source"] = previous_source
            if row["kind"] not in KINDS:
                raise DataError(f"'{path}', line {line}, column 'kind': got {row['kind']!r} (allowed: {', '.join(KINDS)})")
            previous_source = row["source"]
            rows.append({**row, "line": line})
    if not rows:
        raise DataError(f"'{path}': no rows")
    return pd.DataFrame(rows, columns=[*COLUMNS, "line"])
