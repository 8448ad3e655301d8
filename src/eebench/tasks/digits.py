"""`digits`: scikit-learn's bundled handwritten digits (UCI optdigits test part; 1,797 real 8×8 images, 10 classes).

The images' 17 grey levels (0..16) are rescaled to uint8 0..255 (`round(v * 255 / 16)`), like every other image
task, so a model normalises all of them the same way. Test: a seeded stratified `test_fraction` of the images;
val: a seeded stratified `val_fraction` of the rest; train: what remains.
"""

from __future__ import annotations

import numpy as np

from .options import fraction
from .spec import TaskSpec
from .splitting import hold_out
from .storage import PreparedTask, SplitData

ORIGINAL_MAX_PIXEL = 16


def load_digits_pool() -> SplitData:
    from sklearn.datasets import load_digits  # sklearn is torch-free but slow to import; only this task needs it

    digits = load_digits()
    images = np.rint(digits.images * 255.0 / ORIGINAL_MAX_PIXEL).astype(np.uint8)
    return SplitData("image", images, digits.target.astype(np.int64), np.arange(len(images)))


def split_pool(pool: SplitData, test_fraction: float, val_fraction: float, seed: int) -> dict[str, SplitData]:
    """Stratified test part first, then val out of the remainder; ids stay the pool's indices."""
    rest, test = hold_out(pool, test_fraction, seed, "test")
    train, val = hold_out(rest, val_fraction, seed, "val")
    return {"train": train, "val": val, "test": test}


def build(options: dict, seed: int) -> PreparedTask:
    splits = split_pool(load_digits_pool(), options["test_fraction"], options["val_fraction"], seed)
    notes = {"source": "sklearn.datasets.load_digits", "pixel_range": [0, 255],
             "original_max_pixel": ORIGINAL_MAX_PIXEL}
    return PreparedTask(splits, notes=notes)


SPECS = [
    TaskSpec(
        name="digits",
        modality="image",
        n_classes=10,
        metric="accuracy",
        description="scikit-learn handwritten digits, 8x8 grey images, 10 classes (real data, offline)",
        label_names=tuple(str(d) for d in range(10)),
        options={
            "test_fraction": fraction("share of all images held out as the test split (stratified)", 0.3),
            "val_fraction": fraction("share of the non-test images used as the val split", 0.15),
        },
        build=build,
    )
]
