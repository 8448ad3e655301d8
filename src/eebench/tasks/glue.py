"""GLUE: SST-2, MNLI (matched / mismatched), QNLI, RTE, MRPC, QQP, CoLA, STS-B.

As in the early-exit papers, the GLUE dev set is the **test** split (GLUE's test labels are hidden) and val is a
seeded `val_fraction` of train. Sources:
- `source: hub`: the Hugging Face dataset `nyu-mll/glue` (needs internet and `datasets`).
- `source: local`, `path: DIR`: the original GLUE TSV layout, `DIR/SST-2/train.tsv` and `dev.tsv`;
  MNLI has `dev_matched.tsv` (task `mnli`) and `dev_mismatched.tsv` (task `mnli-mm`). Files are read with
  `QUOTE_NONE`, an optional UTF-8 BOM, CoLA without header (see `tsv.py`).
Sample ids are the line numbers in the local file (1-based, header included) or the row index in the hub split.
`mnli` and `mnli-mm` prepared with the same seed and options have identical train and val splits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import DataError
from .labels import check_class_range, encode_classes, encode_scores
from .options import source_options, split_options
from .sources import load_hub_split, local_folder
from .spec import TaskSpec
from .splitting import carve_splits
from .storage import PreparedTask, SplitData
from .tsv import read_tsv

HUB_REPO = "nyu-mll/glue"
STSB_RANGE = (0.0, 5.0)


@dataclass(frozen=True)
class GlueFormat:
    task: str
    folder: str  # the task's folder in the GLUE layout
    hub_config: str
    modality: str
    metric: str
    label_names: tuple[str, ...]  # STS-B (regression): its one output, ("similarity",)
    columns: tuple  # local text column(s): header names, or positions for CoLA
    label_column: str | int
    raw_labels: tuple[str, ...] | None  # label values as written in the TSV, in class order; None = score
    hub_columns: tuple[str, ...]
    description: str
    header: bool = True
    test_file: str = "dev.tsv"
    hub_test_split: str = "validation"

    @property
    def regression(self) -> bool:
        return self.raw_labels is None


BINARY = ("0", "1")
NLI3 = ("entailment", "neutral", "contradiction")
NLI2 = ("entailment", "not_entailment")
MNLI = dict(
    folder="MNLI", hub_config="mnli", modality="text-pair", metric="accuracy", label_names=NLI3,
    columns=("sentence1", "sentence2"), label_column="gold_label", raw_labels=NLI3, hub_columns=("premise", "hypothesis"),
)
FORMATS = (
    GlueFormat("sst2", "SST-2", "sst2", "text", "accuracy", ("negative", "positive"), ("sentence",), "label", BINARY,
               ("sentence",), "GLUE SST-2: movie-review sentence sentiment (binary)"),
    GlueFormat("mnli", **MNLI, description="GLUE MNLI: 3-way entailment, test = matched dev",
               test_file="dev_matched.tsv", hub_test_split="validation_matched"),
    GlueFormat("mnli-mm", **MNLI, description="GLUE MNLI: 3-way entailment, test = mismatched dev",
               test_file="dev_mismatched.tsv", hub_test_split="validation_mismatched"),
    GlueFormat("qnli", "QNLI", "qnli", "text-pair", "accuracy", NLI2, ("question", "sentence"), "label", NLI2,
               ("question", "sentence"), "GLUE QNLI: does the sentence answer the question"),
    GlueFormat("rte", "RTE", "rte", "text-pair", "accuracy", NLI2, ("sentence1", "sentence2"), "label", NLI2,
               ("sentence1", "sentence2"), "GLUE RTE: textual entailment (binary)"),
    GlueFormat("mrpc", "MRPC", "mrpc", "text-pair", "f1", ("not_equivalent", "equivalent"),
               ("#1 String", "#2 String"), "Quality", BINARY, ("sentence1", "sentence2"),
               "GLUE MRPC: paraphrase detection (F1 and accuracy)"),
    GlueFormat("qqp", "QQP", "qqp", "text-pair", "f1", ("not_duplicate", "duplicate"), ("question1", "question2"),
               "is_duplicate", BINARY, ("question1", "question2"), "GLUE QQP: duplicate questions (F1 and accuracy)"),
    GlueFormat("cola", "CoLA", "cola", "text", "mcc", ("unacceptable", "acceptable"), (3,), 1, BINARY,
               ("sentence",), "GLUE CoLA: grammatical acceptability (Matthews correlation)", header=False),
    GlueFormat("stsb", "STS-B", "stsb", "text-pair", "pearson-spearman", ("similarity",), ("sentence1", "sentence2"), "score",
               None, ("sentence1", "sentence2"), "GLUE STS-B: sentence similarity 0-5, regression (Pearson/Spearman)"),
)


def _inputs(fmt: GlueFormat, text_columns: list[list[str]]) -> list:
    # SST-2's sentences end in a space; strip every field so token counts and tokenisers see clean text.
    stripped = [[text.strip() for text in column] for column in text_columns]
    return stripped[0] if fmt.modality == "text" else list(zip(*stripped))


def read_local(fmt: GlueFormat, path) -> tuple[SplitData, int]:
    """One GLUE TSV file as a split, and the number of malformed rows skipped."""
    table = read_tsv(path, (*fmt.columns, fmt.label_column), header=fmt.header)
    fields = list(zip(*table.rows))
    raw = fields[-1]
    if fmt.regression:
        labels = encode_scores(raw, *STSB_RANGE, path, table.line_numbers)
    else:
        labels = encode_classes(raw, {value: i for i, value in enumerate(fmt.raw_labels)}, path, table.line_numbers)
    inputs = _inputs(fmt, fields[:-1])
    return SplitData(fmt.modality, inputs, labels, np.asarray(table.line_numbers)), table.skipped


def read_hub(fmt: GlueFormat, split: str) -> SplitData:
    data = load_hub_split(HUB_REPO, fmt.hub_config, split)
    where = f"hub dataset '{HUB_REPO}' config '{fmt.hub_config}' split '{split}'"
    missing = [c for c in (*fmt.hub_columns, "label") if c not in data.column_names]
    if missing:
        raise DataError(f"{where}: missing column '{missing[0]}' (has: {', '.join(data.column_names)})")
    if fmt.regression:
        labels = np.asarray(data["label"], dtype=np.float32)
    else:
        labels = check_class_range(data["label"], len(fmt.label_names), where)
    inputs = _inputs(fmt, [data[column] for column in fmt.hub_columns])
    return SplitData(fmt.modality, inputs, labels, np.arange(len(labels)))


def build(fmt: GlueFormat, options: dict, seed: int) -> PreparedTask:
    if options["source"] == "local":
        folder = local_folder(fmt.task, options) / fmt.folder
        train, skipped_train = read_local(fmt, folder / "train.tsv")
        test, skipped_test = read_local(fmt, folder / fmt.test_file)
        notes = {
            "source": f"local GLUE TSV {folder}",
            "test_source": str(folder / fmt.test_file),
            "skipped_rows": {"train.tsv": skipped_train, fmt.test_file: skipped_test},
        }
    else:
        train, test = read_hub(fmt, "train"), read_hub(fmt, fmt.hub_test_split)
        notes = {"source": f"hub {HUB_REPO}/{fmt.hub_config}", "test_source": f"hub split '{fmt.hub_test_split}'"}
    splits = carve_splits(train, test, options, seed, stratify=not fmt.regression)
    return PreparedTask(splits, notes=notes)


def _spec(fmt: GlueFormat) -> TaskSpec:
    return TaskSpec(
        name=fmt.task,
        modality=fmt.modality,
        n_classes=1 if fmt.regression else len(fmt.label_names),
        metric=fmt.metric,
        description=fmt.description,
        label_names=fmt.label_names,
        options={**source_options(), **split_options()},
        build=lambda options, seed: build(fmt, options, seed),
    )


SPECS = [_spec(fmt) for fmt in FORMATS]
