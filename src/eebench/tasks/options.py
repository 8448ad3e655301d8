"""Option declarations shared by many tasks (split sizes, where the data comes from); every task declares its
options with the catalogue's constructors (`eebench.catalogue`)."""

from __future__ import annotations

from ..catalogue import Option, choice, integer, number, path


def fraction(help: str, default: float) -> Option:
    return number(help, default=default, above=0, below=1)


def split_options(val_fraction: float = 0.1) -> dict[str, Option]:
    """The options of every task with a train set and a held-out test set (see splitting.carve_splits)."""
    return {
        "val_fraction": fraction("share of the training data held out as the val split", val_fraction),
        "max_train": integer("cap on train samples (seeded subsample); null = all", default=None),
        "max_val": integer("cap on val samples; null = all", default=None),
        "max_test": integer("cap on test samples; null = all", default=None),
    }


def source_options(default: str = "hub") -> dict[str, Option]:
    """`source: hub` (Hugging Face hub through `datasets`) or `source: local` with `path`."""
    return {
        "source": choice("'hub' (Hugging Face hub, needs internet) or 'local' (files under 'path')", ("hub", "local"),
                         default=default),
        "path": path("folder with the local files (source: local)", default=None),
    }
