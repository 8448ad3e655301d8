"""Captioning tasks and their prepared format (the contract between `prepare` and every later stage).

`prepare_captions(task, options, out, seed)` writes, atomically as one folder:

    OUT/{train,val,test}.jsonl   one image a line: {"image_id": str, "image": path, "captions": [str, ...]}
                                 (`image` relative to OUT or absolute; shapes-captions adds "difficulty")
    OUT/images/                  rendered images (shapes-captions only; COCO images stay where they are)
    OUT/info.json                task, metric, sizes, references per image, caption lengths

Training uses every (image, reference) pair; val and test score a caption against all of an image's references."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import DataError
from ..io import atomic_folder, write_json
from . import coco, shapes

SPLIT_NAMES = ("train", "val", "test")
MODALITY = "image-caption"  # the catalogue's modality of the caption tasks (tasks/captions.py)


def prepare_captions(task: str, options: dict, out: str | Path, seed: int) -> None:
    """Write the splits of caption task `task` (its options checked by the catalogue) to `out`."""
    with atomic_folder(out) as tmp:
        splits = _shapes_splits(options, seed, tmp) if task == "shapes-captions" else coco.load_splits(options)
        for name, rows in splits.items():
            (tmp / f"{name}.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
        write_json(tmp / "info.json", _info(task, options, splits))


def _shapes_splits(options: dict, seed: int, folder: Path) -> dict[str, list[dict]]:
    (folder / "images").mkdir()
    total = sum(options[f"{name}_size"] for name in SPLIT_NAMES)
    scenes = shapes.generate(total, seed, options["image_size"], options["max_groups"], options["references"])
    splits: dict[str, list[dict]] = {}
    for name in SPLIT_NAMES:
        splits[name] = []
        for _ in range(options[f"{name}_size"]):
            image, captions, difficulty = next(scenes)
            image_id = f"{sum(map(len, splits.values())):06d}"
            relative = f"images/{image_id}.png"
            image.save(folder / relative)
            splits[name].append({"image_id": image_id, "image": relative, "captions": captions,
                                 "difficulty": difficulty})
    return splits


def _info(task: str, options: dict, splits: dict[str, list[dict]]) -> dict:
    lengths = [len(c.split()) for rows in splits.values() for row in rows for c in row["captions"]]
    return {
        "task": task,
        "kind": "captioning",
        "modality": MODALITY,
        "metric": "cider",
        "options": options,
        "sizes": {name: len(rows) for name, rows in splits.items()},
        "references_per_image": {name: (sum(len(r["captions"]) for r in rows) / max(len(rows), 1))
                                 for name, rows in splits.items()},
        "caption_words": {"min": min(lengths), "mean": sum(lengths) / len(lengths), "max": max(lengths)},
    }


def read_split(data_dir: str | Path, split: str) -> list[dict]:
    """Rows of a prepared split with `image` resolved to a path."""
    data_dir = Path(data_dir)
    path = data_dir / f"{split}.jsonl"
    if not path.is_file():
        raise DataError(f"'{path}': file not found (run the captioning prepare stage first)")
    rows = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        try:
            row = json.loads(line)
            row["image"] = str(data_dir / row["image"])  # an absolute `image` stays as it is
            rows.append(row)
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise DataError(f"'{path}', line {number}: not a caption record ({exc})") from None
    return rows


def load_image(path: str):
    from PIL import Image

    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except OSError as exc:
        raise DataError(f"'{path}': not a readable image ({exc})") from None
