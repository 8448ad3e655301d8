"""Atomic file writing: every stage writes to a temporary file in the target folder and renames it,
so an interrupted job never leaves a file that looks finished."""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import shutil
import stat
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
    with _naming(target, ()):
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix or target.suffix, dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        with _naming(target, (tmp,)):
            yield tmp
            if tmp.exists():
                give_usual_permissions(tmp)
            os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a new temporary folder beside `path`; only if the block succeeds does it become `path` (a folder
    already there is replaced), so an interrupted or failed stage leaves no half-written folder."""
    target = Path(path)
    if target.exists() and not target.is_dir():
        from .errors import DataError

        raise DataError(f"'{target}': is a file; expected the path of a folder to write")
    target.parent.mkdir(parents=True, exist_ok=True)
    with _naming(target, ()):
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        with _naming(target, (tmp,)):
            yield tmp
            give_usual_permissions(tmp)
            if target.exists():  # set the old folder aside first: a folder cannot be renamed onto a full one
                old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
                os.replace(target, old)
                os.replace(tmp, target)
                shutil.rmtree(old)
            else:
                os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def _naming(target: Path, temporary: tuple[Path, ...]) -> Iterator[None]:
    """An OSError while writing `target` (a full disk, a read-only folder) that names no file, or one of its
    temporary paths, is re-raised naming `target` (a file inside a temporary folder: that file under `target`),
    the output the user asked for; other files' errors pass unchanged."""
    try:
        yield
    except OSError as exc:
        name = None if exc.filename is None else Path(exc.filename)
        folder = next((t for t in temporary if name is not None and t in name.parents), None)
        ours = name is None or name in temporary or folder is not None or (
            name.parent == target.parent and name.name.startswith(f".{target.name}."))  # mkstemp's, mkdtemp's
        if not ours:
            raise
        named = target if folder is None else target / name.relative_to(folder)
        raise OSError(exc.errno, exc.strerror or str(exc), str(named)) from None


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


def one_line(text: str) -> str:
    """`text` (a message quoting a file's content or a config's keys) as one printable line: a line break or other
    control character in a quoted name is shown as its escape."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def file_problem(path: str | os.PathLike) -> str | None:
    """Why `path` is not a regular file to read ("file not found", "is a FIFO, not a regular file" …), or None.
    Reading a FIFO would wait for a writer forever; a folder or a symlink loop is not "not found"."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "file not found"
    except OSError as exc:  # a symlink loop, a name too long, no permission on a folder above
        return f"cannot be read ({exc.strerror})"
    if stat.S_ISREG(mode):
        return None
    kinds = {stat.S_ISDIR: "a folder", stat.S_ISFIFO: "a FIFO", stat.S_ISSOCK: "a socket", stat.S_ISCHR: "a device",
             stat.S_ISBLK: "a device"}
    return f"is {next(kind for test, kind in kinds.items() if test(mode))}, not a regular file"


def read_json(path: str | os.PathLike) -> Any:
    from .errors import DataError

    p = Path(path)
    problem = file_problem(p)
    if problem:
        raise DataError(f"'{p}': {problem}")
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"'{p}': not valid JSON ({exc})") from None


def read_npz(path: str | os.PathLike) -> dict:
    """Every array of an .npz file, never unpickled; a missing file, or one that is no .npz archive (a renamed
    .npy, a truncated zip), is a DataError naming it."""
    import numpy as np

    from .errors import DataError

    problem = file_problem(path)
    if problem:
        raise DataError(f"'{path}': {problem}")
    try:
        data = np.load(path, allow_pickle=False)
    except Exception as exc:  # zip/format errors from numpy: report them against the file
        raise DataError(f"'{path}': not a readable .npz file ({exc})") from None
    if not isinstance(data, np.lib.npyio.NpzFile):  # np.load reads a .npy (one array) whatever the name says
        raise DataError(f"'{path}': a .npy file (one array), not an .npz archive of named arrays; save it with "
                        "numpy.savez")
    try:
        with data:
            return {key: data[key] for key in data.files}
    except Exception as exc:
        raise DataError(f"'{path}': not a readable .npz file ({exc})") from None


def jsonl_objects(path: Path, encoding: str = "utf-8") -> Iterator[tuple[int, dict]]:
    """(line number, object) for every non-blank line of a JSONL file; a line that is not a JSON object, or bytes
    that are not `encoding`, are a DataError naming the file and line."""
    from .errors import DataError

    with open(path, encoding=encoding) as fh, decoding(path, encoding):
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"'{path}', line {number}: not valid JSON ({exc.msg})") from None
            if not isinstance(record, dict):
                raise DataError(f"'{path}', line {number}: expected a JSON object, got {type(record).__name__}")
            yield number, record


@contextlib.contextmanager
def decoding(path: str | os.PathLike, encoding: str) -> Iterator[None]:
    """Read the text file `path` inside this block: bytes that are not `encoding` (a Latin-1 line in a UTF-8 file)
    are a DataError naming the file and the line of the first such byte (a text stream only knows its chunk)."""
    from .errors import DataError

    try:
        yield
    except UnicodeDecodeError:
        data = Path(path).read_bytes()
        try:
            data.decode(encoding)
        except UnicodeDecodeError as exc:
            name, line = encoding.removesuffix("-sig").upper(), data.count(b"\n", 0, exc.start) + 1
            raise DataError(f"'{path}', line {line}: not {name} text (byte "
                            f"{data[exc.start]:#04x}); save the file as {name}") from None
        raise


def file_sha256(path: str | os.PathLike) -> str:
    """The SHA-256 of a file's bytes, read in blocks (weights files are large)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
