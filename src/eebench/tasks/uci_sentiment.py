"""`uci-sentiment`: the UCI "Sentiment Labelled Sentences" (Kotzias et al. 2015; CC BY 4.0), shipped inside the
package (`eebench/resources/uci_sentiment/`, with its attribution), so the default grid runs on real text offline.

Three domains of 1,000 sentences each (500 positive, 500 negative): `amazon`, `imdb`, `yelp`. Train and val come
from `train_domains`; test is a seeded `test_fraction` of them held out (in-domain) followed by every sentence of
`test_domains` (the shifted domains), each sample with its `domain`, so every domain gets its own results and the
online `ucb` meets the shift mid-stream. It is `text-classification` on the shipped files.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from . import text_files
from ..catalogue import parsed
from .options import fraction, split_options
from .spec import TaskSpec

FILES = {"amazon": "amazon_cells_labelled.txt", "imdb": "imdb_labelled.txt", "yelp": "yelp_labelled.txt"}
LABEL_NAMES = ("negative", "positive")


def data_folder() -> Path:
    return Path(str(importlib.resources.files("eebench") / "resources" / "uci_sentiment"))


DOMAINS_ALLOWED = f"a non-empty list of distinct domains from: {', '.join(FILES)}"


def domains(value: Any) -> list[str]:
    if not isinstance(value, list) or not value or any(d not in FILES for d in value) or len(set(value)) != len(value):
        raise ValueError(DOMAINS_ALLOWED)
    return value


def build(options: dict, seed: int):
    overlap = sorted(set(options["train_domains"]) & set(options["test_domains"]))
    if overlap:
        raise ConfigError(
            f"task 'uci-sentiment', option 'test_domains': {overlap[0]!r} is a train domain too; its in-domain test "
            "is already held out by 'test_fraction'"
        )
    folder = data_folder()
    files = {
        "train": {d: [str(folder / FILES[d])] for d in options["train_domains"]},
        "val": None,
        "test": {d: [str(folder / FILES[d])] for d in options["test_domains"]},
    }
    shared = {name: options[name] for name in ("val_fraction", "max_train", "max_val", "max_test", "test_fraction")}
    generic = {
        **files, **shared, "text": [0], "label": -1, "label_values": ["0", "1"], "format": "tsv",
        "quoting": "none", "header": False, "allow_test_duplicates": False,
    }
    prepared = text_files.build(generic, seed)
    prepared.label_names = list(LABEL_NAMES)
    prepared.notes["source"] = f"UCI Sentiment Labelled Sentences (Kotzias et al. 2015, CC BY 4.0), {folder}"
    return prepared


SPECS = [
    TaskSpec(
        name="uci-sentiment",
        modality="text",
        n_classes=2,
        metric="accuracy",
        description="UCI sentiment sentences (real, shipped): train on some review domains, test in-domain and shifted",
        label_names=LABEL_NAMES,
        options={
            "train_domains": parsed("domains of train and val", domains, DOMAINS_ALLOWED, default=["amazon", "yelp"]),
            "test_domains": parsed("shifted domains tested after the in-domain held-out part", domains, DOMAINS_ALLOWED,
                                   default=["imdb"]),
            **split_options(val_fraction=0.2),
            "test_fraction": fraction("share of the train domains held out as in-domain test", 0.2),
        },
        build=build,
    )
]
