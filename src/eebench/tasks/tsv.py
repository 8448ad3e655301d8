"""A tolerant reader for the tab-separated files of GLUE and the sentiment sets.

Real files need: no quote handling (`csv.QUOTE_NONE`: SST-2 and MNLI sentences contain bare `"`), an optional
UTF-8 BOM (MRPC), files without a header (CoLA, UCI sentences), and a few malformed rows in the big files
(QQP has rows with missing fields). Malformed rows are skipped and counted, up to MAX_SKIPPED_SHARE of the
file; beyond that, or when a header lacks a needed column, the file is rejected with one DataError naming it.
"""

from __future__ import annotations

import csv
import io
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..errors import DataError
from ..io import one_line

MAX_SKIPPED_SHARE = 0.01
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # full IMDB reviews exceed csv's 128 kB default


@dataclass
class TsvRows:
    path: Path
    rows: list[tuple[str, ...]]  # the requested columns, in the requested order
    line_numbers: list[int]  # 1-based line of each row in the file, for error messages
    skipped: int


def not_utf8(path: Path, exc: UnicodeDecodeError) -> str:
    """Why a text file could not be read, with the fix (UTF-16 files are what Excel's "Unicode text" saves)."""
    with open(path, "rb") as fh:
        head = fh.read(2)
    if head in (b"\xff\xfe", b"\xfe\xff"):
        return "encoded as UTF-16; save it as UTF-8"
    return f"not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start}); save it as UTF-8"


def _column_positions(path: Path, header: list[str], columns: Sequence[str]) -> list[int]:
    positions = []
    for name in columns:
        if name not in header:
            raise DataError(f"'{path}': missing column '{name}' (header has: {one_line(', '.join(header))})")
        # The last header column is read from the end of each row, so a stray tab inside a sentence
        # does not shift the label (how GLUE's own readers treat MNLI and STS-B).
        positions.append(-1 if header.index(name) == len(header) - 1 else header.index(name))
    return positions


def read_tsv(path: str | Path, columns: Sequence[str | int], header: bool = True) -> TsvRows:
    """Read `columns` (header names, or positions when `header` is False; negative = from the end)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"'{path}': file not found")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"'{path}': {not_utf8(path, exc)}") from None
    if "\x00" in text:
        raise DataError(f"'{path}': contains NUL bytes (line {text[:text.index(chr(0))].count(chr(10)) + 1}); "
                        "expected a tab-separated text file")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter="\t", quoting=csv.QUOTE_NONE)
    lines = [(n, row) for n, row in enumerate(reader, 1) if row]
    if header:
        if not lines:
            raise DataError(f"'{path}': empty file (expected a header and data rows)")
        positions = _column_positions(path, [c.strip() for c in lines[0][1]], columns)
        lines = lines[1:]
    else:
        positions = list(columns)
    # Columns counted from the start and from the end must not overlap.
    needed = max((p + 1 for p in positions if p >= 0), default=0) + max((-p for p in positions if p < 0), default=0)
    good = [(n, row) for n, row in lines if len(row) >= needed]
    if not lines:
        raise DataError(f"'{path}': no data rows")
    skipped = len(lines) - len(good)
    if skipped > MAX_SKIPPED_SHARE * len(lines):
        first_bad = next(n for n, row in lines if len(row) < needed)
        raise DataError(
            f"'{path}': {skipped} of {len(lines)} rows have fewer than {needed} tab-separated fields "
            f"(first at line {first_bad}); is this the right file for the task?"
        )
    return TsvRows(path, [tuple(row[p] for p in positions) for _, row in good], [n for n, _ in good], skipped)
