"""`coco-captions`: COCO 2014 with the Karpathy split (113,287 train incl. restval / 5,000 val / 5,000 test).

Local layout (what the Karpathy split release and COCO's own downloads give):

    PATH/dataset_coco.json          {"images": [{"filepath": "val2014", "filename": "COCO_val2014_....jpg",
                                      "split": "train|restval|val|test", "cocoid": 391895,
                                      "sentences": [{"raw": "A man ...", ...}, ...]}, ...]}
    PATH/train2014/*.jpg, PATH/val2014/*.jpg

`restval` joins train, as in every Karpathy-split paper (and CapEEN). From the hub (`source: hub`), a dataset
with the same records (`hub_id`, default `yerevann/coco-karpathy`: columns filepath, filename, sentences, split,
cocoid) gives the captions; the images are still read from `PATH/{filepath}/{filename}`."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import ConfigError, DataError

SPLITS = {"train": ("train", "restval"), "val": ("val",), "test": ("test",)}
SPLIT_FILE = "dataset_coco.json"


def read_local_records(root: Path) -> list[dict]:
    path = root / SPLIT_FILE
    if not path.is_file():
        raise DataError(f"'{path}': file not found (coco-captions with source 'local' needs the Karpathy split "
                        f"JSON in the folder named by option 'path')")
    try:
        images = json.loads(path.read_text())["images"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise DataError(f"'{path}': expected a JSON object with an 'images' list ({exc})") from None
    return [_record(path, index, entry) for index, entry in enumerate(images)]


def read_hub_records(hub_id: str) -> list[dict]:
    import datasets

    table = datasets.load_dataset(hub_id)
    records = []
    for split in table.values():
        for index, entry in enumerate(split):
            sentences = [s if isinstance(s, str) else s["raw"] for s in entry["sentences"]]
            records.append(_record(hub_id, index, {**entry, "sentences": [{"raw": s} for s in sentences]}))
    return records


def _record(source, index: int, entry: dict) -> dict:
    try:
        split = entry["split"]
        captions = [sentence["raw"].strip() for sentence in entry["sentences"]]
        image = f"{entry['filepath']}/{entry['filename']}"
        image_id = str(entry.get("cocoid", entry["filename"]))
    except (KeyError, TypeError) as exc:
        raise DataError(f"'{source}', images[{index}]: missing field {exc} (need split, sentences[].raw, "
                        f"filepath, filename)") from None
    if split not in {name for names in SPLITS.values() for name in names}:
        raise DataError(f"'{source}', images[{index}], field 'split': {split!r}; allowed: train, restval, val, test")
    return {"split": split, "image_id": image_id, "image": image, "captions": captions}


def load_splits(options: dict) -> dict[str, list[dict]]:
    """Records of train/val/test with `image` as an absolute path under `options['path']`."""
    if not options["path"]:
        raise ConfigError("task 'coco-captions', option 'path': required (the folder holding train2014/ and "
                          "val2014/, and dataset_coco.json for source 'local')")
    root = Path(options["path"]).expanduser()
    if options["source"] == "local":
        records = read_local_records(root)
    else:
        records = read_hub_records(options["hub_id"])
    splits = {}
    for name, members in SPLITS.items():
        chosen = [r for r in records if r["split"] in members]
        limit = options[f"max_{name}"]
        splits[name] = [
            {"image_id": r["image_id"], "image": str(root / r["image"]), "captions": r["captions"]}
            for r in (chosen if limit is None else chosen[:limit])
        ]
    for name, rows in splits.items():
        for row in rows[:1] + rows[-1:]:  # a wrong root shows on the first file already
            if not Path(row["image"]).is_file():
                raise DataError(f"'{row['image']}': image file not found (task 'coco-captions', split {name!r}, "
                                f"option 'path' = {options['path']!r})")
    return splits
