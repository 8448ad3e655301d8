"""Atomic file writing: every stage writes to a temporary file in the target folder and renames it,
so an interrupted job never leaves a file that looks finished."""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def give_usual_permissions(path: Path) -> None:
    """mkstemp and mkdtemp create owner-only files and folders; give them what the umask normally gives."""
    os.chmod(path, (0o777 if Path(path).is_dir() else 0o666) & ~_UMASK)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds."""
    target = Path(path)
    if target.is_dir():
        from .errors import DataError

        raise DataError(f"'{target}': is a folder; expected the path of a file to write")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix or target.suffix, dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        if tmp.exists():
            give_usual_permissions(tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _json_default(value: Any) -> Any:
    # NumPy scalars and arrays appear in metrics; write them as plain JSON numbers and lists.
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def write_json(path: str | os.PathLike, data: Any) -> None:
    """Strict JSON (no NaN or infinity, which other readers refuse), written atomically; a non-finite number is a
    DataError naming the file, and nothing is written."""
    from .errors import DataError

    try:
        text = json.dumps(data, indent=2, default=_json_default, allow_nan=False)
    except ValueError:
        plain = json.loads(json.dumps(data, default=_json_default))  # NaN allowed here, to say where it is
        raise DataError(f"'{path}': not written: field '{_first_non_finite(plain)}' is NaN or infinite") from None
    with atomic_path(path) as tmp:
        tmp.write_text(text + "\n")


def _first_non_finite(data: Any, where: str = "") -> str | None:
    """The field path (e.g. `by_domain.imdb.primary`) of the first NaN or infinity in plain JSON data."""
    if isinstance(data, float):
        return None if math.isfinite(data) else where
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, value in items:
        found = _first_non_finite(value, f"{where}.{key}" if where else str(key))
        if found is not None:
            return found
    return None


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def read_json(path: str | os.PathLike) -> Any:
    from .errors import DataError

    p = Path(path)
    if not p.is_file():
        raise DataError(f"'{p}': file not found")
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"'{p}': not valid JSON ({exc})") from None


def jsonl_objects(path: Path, encoding: str = "utf-8") -> Iterator[tuple[int, dict]]:
    """(line number, object) for every non-blank line of a JSONL file; a line that is not a JSON object, or bytes
    that are not `encoding`, are a DataError naming the file and line (or offset)."""
    from .errors import DataError

    with open(path, encoding=encoding) as fh:
        for number, line in enumerate(_decoded_lines(fh, path, encoding), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"'{path}', line {number}: not valid JSON ({exc.msg})") from None
            if not isinstance(record, dict):
                raise DataError(f"'{path}', line {number}: expected a JSON object, got {type(record).__name__}")
            yield number, record


def _decoded_lines(fh, path: Path, encoding: str) -> Iterator[str]:
    from .errors import DataError

    try:
        yield from fh
    except UnicodeDecodeError as exc:
        raise DataError(f"'{path}': not {encoding} text (offset {exc.start})") from None
