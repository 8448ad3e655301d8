"""`sentiment-shift`: binary sentiment trained and fitted on a source domain, tested on a target domain, so
that threshold transfer and online adaptation (`ucb`) can be measured under domain shift.

Domains (files are looked up under `path`, directly or up to two folders down, so `path` may be the folder
holding them or a parent of several such folders):
- `uci-amazon`, `uci-imdb`, `uci-yelp`: UCI "Sentiment Labelled Sentences" (Kotzias et al. 2015),
  `amazon_cells_labelled.txt`, `imdb_labelled.txt`, `yelp_labelled.txt`: `sentence<TAB>label`, no header.
- `imdb`, `yelp`, `mr`: TextFooler's 1,000-review samples, `imdb.tsv`, `yelp.tsv`, `mr.tsv`, header `label<TAB>text`
  (IMDB and Yelp are full reviews).
- `sst2`: GLUE SST-2, `SST-2/train.tsv` (as source) and `SST-2/dev.tsv` (as target), header `sentence<TAB>label`.
Train and val (a seeded `val_fraction`) come from the source's file, test is the whole target file in file order
(the stream order for online policies). With source == target, test is a seeded `test_fraction` of that
domain instead (SST-2: its dev file). Every sample records its `domain`; ids are line numbers in the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError
from .labels import encode_classes
from ..catalogue import choice, path
from .options import fraction, split_options
from .spec import TaskSpec
from .splitting import carve_splits, hold_out
from .storage import PreparedTask, SplitData
from .sources import local_folder
from .tsv import read_tsv


@dataclass(frozen=True)
class Domain:
    file: str  # relative path of its file
    columns: tuple  # (text column, label column): header names, or positions without header
    header: bool
    target_file: str | None = None  # a separate held-out file (SST-2 dev)


DOMAINS = {
    "uci-amazon": Domain("amazon_cells_labelled.txt", (0, -1), header=False),
    "uci-imdb": Domain("imdb_labelled.txt", (0, -1), header=False),
    "uci-yelp": Domain("yelp_labelled.txt", (0, -1), header=False),
    "imdb": Domain("imdb.tsv", ("text", "label"), header=True),
    "yelp": Domain("yelp.tsv", ("text", "label"), header=True),
    "mr": Domain("mr.tsv", ("text", "label"), header=True),
    "sst2": Domain("SST-2/train.tsv", ("sentence", "label"), header=True, target_file="SST-2/dev.tsv"),
}
LABEL_NAMES = ("negative", "positive")
SEARCH_PATTERNS = ("{}", "*/{}", "*/*/{}")


def find_domain_file(root: Path, relative: str) -> Path:
    matches = sorted({p for pattern in SEARCH_PATTERNS for p in root.glob(pattern.format(relative))})
    if not matches:
        raise DataError(f"'{root / relative}': file not found (looked in '{root}' and two folder levels below)")
    if len(matches) > 1:
        raise DataError(f"'{root}': several files match '{relative}': {', '.join(map(str, matches))}; point 'path' at one")
    return matches[0]


def read_domain(name: str, path: Path) -> SplitData:
    domain = DOMAINS[name]
    table = read_tsv(path, domain.columns, header=domain.header)
    texts, raw_labels = zip(*table.rows)
    labels = encode_classes(raw_labels, {"0": 0, "1": 1}, path, table.line_numbers)
    return SplitData(
        "text",
        [text.strip() for text in texts],
        labels,
        np.asarray(table.line_numbers),
        {"domain": np.full(len(labels), name)},
    )


def build(options: dict, seed: int) -> PreparedTask:
    root = local_folder("sentiment-shift", options)
    source, target = DOMAINS[options["source"]], DOMAINS[options["target"]]
    source_file = find_domain_file(root, source.file)
    pool = read_domain(options["source"], source_file)
    if options["source"] != options["target"] or target.target_file:  # a separate file (SST-2's dev when in-domain)
        target_file = find_domain_file(root, target.target_file or target.file)
        test = read_domain(options["target"], target_file)
    else:  # in-domain baseline from one file
        target_file = source_file
        pool, test = hold_out(pool, options["test_fraction"], seed, "test")
    notes = {
        "source": f"{options['source']} ({source_file})",
        "test_source": f"{options['target']} ({target_file})",
        "domains": {"train": options["source"], "val": options["source"], "test": options["target"]},
    }
    return PreparedTask(carve_splits(pool, test, options, seed), notes=notes)


SPECS = [
    TaskSpec(
        name="sentiment-shift",
        modality="text",
        n_classes=2,
        metric="accuracy",
        description="binary sentiment under domain shift: train/val on a source domain, test on a target domain",
        label_names=LABEL_NAMES,
        options={
            "path": path("folder holding the domains' files (or a parent of their folders)", default=None),
            "source": choice("domain of train and val", DOMAINS, default="uci-imdb"),
            "target": choice("domain of test", DOMAINS, default="uci-yelp"),
            **split_options(val_fraction=0.2),
            "test_fraction": fraction("share held out as test when source == target (one file)", 0.3),
        },
        build=build,
    )
]
