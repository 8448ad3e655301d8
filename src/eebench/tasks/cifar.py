"""CIFAR-10/100 from the official download folders.

Binary version (`cifar-10-batches-bin`, `cifar-100-binary`): fixed-size records (CIFAR-10: 1 label byte +
3072 pixel bytes; CIFAR-100: coarse and fine label bytes + 3072), parsed with NumPy.
Python version (`cifar-10-batches-py`, `cifar-100-python`): pickled dicts. Pickle can run code, so these are
read with an unpickler that only resolves the few NumPy names such a batch contains and refuses anything else;
only point `path` at a folder you downloaded yourself.
Pixels are stored channel-first (1024 R, 1024 G, 1024 B per image); they are returned as uint8 [N, 32, 32, 3].
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from ..errors import DataError

PIXELS = 3 * 32 * 32
CIFAR10_FILES = {
    "train": [f"data_batch_{i}" for i in range(1, 6)],
    "test": ["test_batch"],
}
CIFAR100_FILES = {"train": ["train"], "test": ["test"]}
# Folder names of the official archives; `path` may be one of them or the folder that contains it.
ARCHIVE_FOLDERS = {10: ("cifar-10-batches-py", "cifar-10-batches-bin"), 100: ("cifar-100-python", "cifar-100-binary")}


# Everything a CIFAR batch pickle (written by Python 2 or 3, protocol <= 4) refers to.
SAFE_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
}


class SafeBatchUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) not in SAFE_GLOBALS:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} (not part of a CIFAR batch)")
        if module == "numpy.core.multiarray" and int(np.__version__.split(".")[0]) >= 2:
            module = "numpy._core.multiarray"  # NumPy 2 moved it; the old name only warns
        return super().find_class(module, name)


def _images(flat: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(flat.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))


def read_pickle_batch(path: Path, label_key: bytes) -> tuple[np.ndarray, np.ndarray]:
    try:
        with open(path, "rb") as fh:
            batch = SafeBatchUnpickler(fh, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as exc:
        raise DataError(f"'{path}': not a CIFAR python batch ({exc})") from None
    if not isinstance(batch, dict) or b"data" not in batch or label_key not in batch:
        keys = sorted(batch) if isinstance(batch, dict) else type(batch).__name__
        raise DataError(f"'{path}': missing field '{label_key.decode()}' or 'data' (has: {keys})")
    data = np.asarray(batch[b"data"], dtype=np.uint8)
    labels = np.asarray(batch[label_key])
    if data.ndim != 2 or data.shape[1] != PIXELS or len(labels) != len(data):
        raise DataError(f"'{path}': expected data [N, {PIXELS}] and N labels, got {data.shape} and {len(labels)}")
    return _images(data), labels


def read_binary_batch(path: Path, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    label_bytes = 1 if n_classes == 10 else 2  # CIFAR-100 records start with the coarse, then the fine label
    raw = np.fromfile(path, dtype=np.uint8)
    record = label_bytes + PIXELS
    if raw.size == 0 or raw.size % record:
        raise DataError(f"'{path}': size {raw.size} bytes is not a multiple of the {record}-byte CIFAR record")
    records = raw.reshape(-1, record)
    return _images(records[:, label_bytes:]), records[:, label_bytes - 1].astype(np.int64)


def _archive_folder(path: Path, n_classes: int) -> Path:
    for name in ARCHIVE_FOLDERS[n_classes]:
        if (path / name).is_dir():
            return path / name
    return path


def read_cifar_split(path: Path, n_classes: int, split: str) -> tuple[np.ndarray, np.ndarray, list[Path]]:
    """Images, labels and the files read, from the python batches or else the binary ones."""
    folder = _archive_folder(path, n_classes)
    names = (CIFAR10_FILES if n_classes == 10 else CIFAR100_FILES)[split]
    if all((folder / name).is_file() for name in names):
        files = [folder / name for name in names]
        label_key = b"labels" if n_classes == 10 else b"fine_labels"
        parts = [read_pickle_batch(f, label_key) for f in files]
    elif all((folder / f"{name}.bin").is_file() for name in names):
        files = [folder / f"{name}.bin" for name in names]
        parts = [read_binary_batch(f, n_classes) for f in files]
    else:
        raise DataError(
            f"'{folder}': CIFAR-{n_classes} {split} files not found (expected {', '.join(names)} "
            f"from {ARCHIVE_FOLDERS[n_classes][0]}, or the same names with .bin from {ARCHIVE_FOLDERS[n_classes][1]})"
        )
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]), files
