"""Decoding image files and hub images with Pillow (imported only here, only by the tasks that need it), and
the ImageFolder layout: `ROOT/<class name>/<image file>`, classes sorted by name."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from ..errors import ConfigError, DataError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm"}


def require_pillow(task: str) -> None:
    if importlib.util.find_spec("PIL") is None:
        raise ConfigError(f"task '{task}' decodes images with Pillow, which is not installed (pip install Pillow)")


def to_array(image, mode: str, size: int | None) -> np.ndarray:
    """A PIL image as uint8 [H, W] (mode "L") or [H, W, 3] (mode "RGB"); with `size`, the shorter side is
    resized to `size` and the centre cropped to size × size (the usual evaluation transform)."""
    from PIL import Image

    image = image.convert(mode)
    if size is not None:
        scale = size / min(image.size)
        width, height = max(size, round(image.width * scale)), max(size, round(image.height * scale))
        image = image.resize((width, height), Image.Resampling.BILINEAR)
        left, top = (width - size) // 2, (height - size) // 2
        image = image.crop((left, top, left + size, top + size))
    return np.asarray(image, dtype=np.uint8)


def decode_files(paths: list[Path], mode: str, size: int | None) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    arrays = []
    for path in paths:
        try:
            with Image.open(path) as image:
                arrays.append(to_array(image, mode, size))
        except (UnidentifiedImageError, OSError) as exc:
            raise DataError(f"'{path}': not a readable image ({exc})") from None
    if size is None and len({a.shape for a in arrays}) > 1:
        raise DataError(f"'{paths[0].parent.parent}': images differ in size; set the task's 'image_size' option")
    return np.stack(arrays)


def list_image_folder(root: Path, class_names: list[str] | None = None) -> tuple[list[Path], np.ndarray, list[str]]:
    """(files, labels, class names) of an ImageFolder. A second folder (val) passes the first one's class names,
    so the same class gets the same index; a class folder it does not know is an error."""
    if not root.is_dir():
        raise DataError(f"'{root}': folder not found (expected ImageFolder layout {root}/<class>/<image>)")
    folders = sorted(d for d in root.iterdir() if d.is_dir())
    if not folders:
        raise DataError(f"'{root}': no class folders (expected ImageFolder layout {root}/<class>/<image>)")
    class_names = class_names or [d.name for d in folders]
    index = {name: i for i, name in enumerate(class_names)}
    files, labels = [], []
    for folder in folders:
        if folder.name not in index:
            raise DataError(f"'{folder}': class '{folder.name}' is not among the training classes")
        images = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        files += images
        labels += [index[folder.name]] * len(images)
    if not files:
        raise DataError(f"'{root}': no image files ({', '.join(sorted(IMAGE_SUFFIXES))}) in its class folders")
    return files, np.asarray(labels, dtype=np.int64), class_names
