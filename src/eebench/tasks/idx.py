"""LeCun's IDX format (MNIST, Fashion-MNIST), plain or gzip-compressed, parsed with NumPy.

Header: two zero bytes, a type byte (0x08 = uint8), the number of dimensions, then each dimension as a
big-endian uint32; the data follows.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from ..errors import DataError

UINT8 = 0x08
GZIP_MAGIC = b"\x1f\x8b"


def read_idx(path: Path, ndim: int) -> np.ndarray:
    """A uint8 IDX array of `ndim` dimensions (3 for images, 1 for labels)."""
    raw = Path(path).read_bytes()
    if raw[:2] == GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise DataError(f"'{path}': corrupt gzip data ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != UINT8 or raw[3] != ndim:
        raise DataError(f"'{path}': not a uint8 IDX file with {ndim} dimension(s) (magic {raw[:4].hex() or 'none'})")
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    if len(raw) != header + int(np.prod(shape)):
        raise DataError(f"'{path}': header says shape {shape} but the file holds {len(raw) - header} data bytes")
    if shape[0] == 0:
        raise DataError(f"'{path}': no samples")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def find_idx(folder: Path, stem: str) -> Path | None:
    """`stem` or `stem.gz` in `folder` (both names occur in the wild)."""
    for candidate in (folder / stem, folder / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None
