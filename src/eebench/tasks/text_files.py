"""`text-classification`: a user's own text-classification data, read from local CSV, TSV or JSONL files.

Options (see config/README.md for an example):
- `train` (required), `val`, `test`: FILES — a path, a list of paths (read one after the other), or a mapping
  `{domain name: path or list}`. `val` left out: a seeded `val_fraction` of train. `test` left out: a seeded
  `test_fraction` of train (0.2 by default) is held out as an in-domain test.
- domain shift: give `test` as a mapping, e.g. `{imdb: target/imdb.tsv, yelp: target/yelp.tsv}`. Every sample then
  records its `domain` (the mapping key; `source` for a train or val given as a plain path or list), the results
  get one section per domain, and the test split is the domains in the order given, each in file order — the
  stream order of online policies such as `ucb`. With `test_fraction` set too, the held-out source part comes first
  (so a test domain may not be called `source` then). A domain name is 1 to 64 letters, digits, `_`, `-` or `.`,
  starting with a letter or digit (`DOMAIN_NAME`): it is a label in tables and files, never a path.
- `text`: the text column (or JSON field), or a list of two for sentence pairs; `label`: the label column.
  Files without a header (`header: false`) name columns by 0-based position (negative: from the end).
- `label_values`: the label values in class order (their names in the tables); default: the distinct values of
  train, sorted (numerically when all are numbers). A value outside them is an error naming file, line and column.
  Labels are trimmed and numbers read as numbers (`label_key`): `1`, `1.0` and `01` (CSV text or JSON numbers) are
  one class, `1`; an empty, NaN, null or infinite label is refused, naming file and line.
- `allow_test_duplicates`: a test file whose texts also appear, exactly (after trimming spaces at the ends, both
  sentences of a pair), in a train or val file more often than `MAX_DUPLICATE_SHARE` (1 %) of its samples is refused
  — those samples were seen in training and flatter every method; `true` keeps them. The counts are in info.json
  (`test_duplicates`) either way.
- `format`: `auto` (by extension: .csv, .tsv/.txt, .jsonl/.json), `csv`, `tsv` or `jsonl`; `quoting`: `csv`
  (standard quoting: a quoted field may hold the delimiter, `""` and line breaks) or `none` (every character is
  literal, as in GLUE's and the UCI sentences' TSV files, whose texts contain bare `"`).

Sample ids are `"{file name}:{line}"`, the line where the record starts (the path as given when two files share a
name). Relative paths are taken from the
working directory (the repository root under Snakemake).
"""

from __future__ import annotations

import csv
import json
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import ConfigError, DataError
from ..io import decoding, file_problem, jsonl_objects, one_line
from .labels import encode_classes
from ..catalogue import boolean, choice, parsed
from ..catalogue import number as number_option
from .options import split_options
from .spec import TaskSpec
from .splitting import cap, carve_splits, hold_out
from .storage import PreparedTask, SplitData

FORMATS_BY_SUFFIX = {".csv": "csv", ".tsv": "tsv", ".txt": "tsv", ".jsonl": "jsonl", ".json": "jsonl"}
DELIMITERS = {"csv": ",", "tsv": "\t"}
SOURCE_DOMAIN = "source"
DEFAULT_TEST_FRACTION = 0.2
# The largest share of a test file's samples whose text may also be in a train or val file (allow_test_duplicates)
MAX_DUPLICATE_SHARE = 0.01
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # whole reviews can exceed csv's 128 kB default


# --- option parsers (each raises ValueError saying what is allowed) -----------------------------------------------

FILES_ALLOWED = "a file path, a list of file paths, or a mapping {domain name: path or list of paths}"


def _path_list(value: Any) -> list[str]:
    paths = [value] if isinstance(value, str) else value
    if not isinstance(paths, list) or not paths or not all(isinstance(p, str) and p for p in paths):
        raise ValueError(FILES_ALLOWED)
    return paths


# A domain name is a label in tables, plots and sample records: letters, digits, '_', '-' and '.', starting with a
# letter or digit (so no path such as '../evil/x', no spaces or markup).
DOMAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def files_option(value: Any) -> dict[str | None, list[str]] | None:
    """FILES as {domain or None: [paths]}; None (no domain) for a plain path or list."""
    if value is None:
        return None
    if isinstance(value, dict):
        bad = [k for k in value if not (isinstance(k, str) and DOMAIN_NAME.fullmatch(k))]
        if not value or bad:
            raise ValueError("a mapping with at least one domain name -> path(s); a domain name is 1 to 64 letters, "
                             "digits, '_', '-' or '.', starting with a letter or digit" + (f" (got {bad[0]!r})" if bad else ""))
        return {domain: _path_list(paths) for domain, paths in value.items()}
    return {None: _path_list(value)}


def column(value: Any) -> str | int:
    if isinstance(value, bool) or not isinstance(value, (str, int)) or value == "":
        raise ValueError("a column name, or a 0-based position for files without a header")
    return value


def text_columns(value: Any) -> list[str | int]:
    columns = value if isinstance(value, list) else [value]
    if len(columns) not in (1, 2):
        raise ValueError("one column, or a list of two for sentence pairs")
    return [column(c) for c in columns]


def optional_values(value: Any) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or len(value) < 2 or any(isinstance(v, (bool, dict, list)) for v in value):
        raise ValueError("a list of at least two label values, in class order")
    values = [label_key(item if isinstance(item, str) else json.dumps(item)) for item in value]
    if None in values or len(set(values)) != len(values):
        raise ValueError("distinct label values, none missing")
    return values


# A number as a label: numerically equal spellings (1, 1.0, 01, 1e0) are one class.
NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
# What a missing label looks like in CSV exports (pandas, R) and JSON.
MISSING_LABELS = {"", "nan", "null", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}


def label_key(text: str) -> str | None:
    """The class a raw label value names: trimmed; a number in its shortest spelling (`1.0` -> `1`, `2.50` -> `2.5`),
    so numerically equal labels are one class; None for a missing one (empty, NaN, null, infinite)."""
    text = text.strip()
    if text.lower() in MISSING_LABELS:
        return None
    if NUMBER.fullmatch(text):
        number = float(text)
        if not math.isfinite(number):  # beyond float range, as 1e999
            return None
        return str(int(number)) if number.is_integer() else repr(number)
    return text



OPTIONS = {
    "train": parsed("training file(s) of the source domain", files_option, FILES_ALLOWED),
    "val": parsed("val file(s); null = a seeded val_fraction of train", files_option, FILES_ALLOWED + ", or null",
                  default=None),
    "test": parsed("test file(s); a mapping {domain: file(s)} reports each domain on its own", files_option,
                   FILES_ALLOWED + ", or null", default=None),
    "text": parsed("text column, or a list of two columns for sentence pairs", text_columns,
                   "a column (name, or 0-based position without a header), or a list of two", default="text"),
    "label": parsed("label column", column, "a column name, or a 0-based position for files without a header",
                    default="label"),
    "label_values": parsed("label values in class order; null = the sorted values of train", optional_values,
                           "a list of at least two distinct label values (numerically equal ones, such as 1 and 1.0, are "
                           "the same; none empty or NaN), in class order, or null", default=None),
    "format": choice("'auto' (by file extension), 'csv', 'tsv' or 'jsonl'", ("auto", "csv", "tsv", "jsonl"),
                     default="auto"),
    "quoting": choice("'csv' (standard quoting, multi-line fields) or 'none' (no quote handling)", ("csv", "none"),
                      default="csv"),
    "header": boolean("whether CSV/TSV files start with a header row", default=True),
    "allow_test_duplicates": boolean(f"keep a test file whose texts are in a train or val file for more than "
                                     f"{MAX_DUPLICATE_SHARE:.0%} of its samples (refused by default)", default=False),
    **split_options(val_fraction=0.1),
    "test_fraction": number_option(f"share of train held out as in-domain test; null = {DEFAULT_TEST_FRACTION} when 'test' "
                            "is not given, else none", default=None, above=0, below=1),
}


# --- reading ------------------------------------------------------------------------------------------------------

@dataclass
class Records:
    """The requested fields of one file: texts (one or two per record), raw label values, record start lines."""

    path: str
    id_prefix: str
    texts: list[tuple[str, ...]]
    labels: list[str]
    lines: list[int]


def file_format(path: Path, option: str) -> str:
    if option != "auto":
        return option
    if path.suffix.lower() not in FORMATS_BY_SUFFIX:
        raise ConfigError(
            f"task 'text-classification', option 'format': cannot tell the format of '{path}' from its extension "
            f"(known: {', '.join(FORMATS_BY_SUFFIX)}); set format: csv, tsv or jsonl"
        )
    return FORMATS_BY_SUFFIX[path.suffix.lower()]


def _label_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _add_label(records: "Records", raw: str, path: Path, line: int, field: Any) -> None:
    """Append the class of `raw` (`label_key`), refusing a missing label with its file, line and column."""
    key = label_key(raw)
    if key is None:
        raise DataError(f"'{path}', line {line}, field '{field}': missing label ({raw!r}); every sample needs a "
                        "class (empty, NaN, null and infinite values are refused)")
    records.labels.append(key)


def read_jsonl(path: Path, fields: Sequence, label: Any) -> Records:
    records = Records(str(path), path.name, [], [], [])
    for number, record in jsonl_objects(path, encoding="utf-8-sig"):
        for name in (*fields, label):
            if name not in record:
                raise DataError(f"'{path}', line {number}: missing field '{name}' (has: {one_line(', '.join(record))})")
        for name in fields:
            if not isinstance(record[name], str):
                raise DataError(f"'{path}', line {number}, field '{name}': expected a string, got {record[name]!r}")
        records.texts.append(tuple(record[name] for name in fields))
        _add_label(records, _label_text(record[label]), path, number, label)
        records.lines.append(number)
    return records


def _positions(path: Path, header: list[str] | None, names: Sequence) -> list[int]:
    if header is None:
        strings = [name for name in names if isinstance(name, str)]
        if strings:
            raise ConfigError(
                f"'{path}': column '{strings[0]}' is a name, but header is false; name columns by 0-based position"
            )
        return list(names)
    positions = []
    for name in names:
        if isinstance(name, int):
            raise ConfigError(f"'{path}': column {name} is a position, but the file has a header; use a name from: "
                              f"{one_line(', '.join(header))}")
        if name not in header:
            raise DataError(f"'{path}': missing column '{name}' (header has: {one_line(', '.join(header))})")
        positions.append(header.index(name))
    return positions


def read_delimited(path: Path, fmt: str, names: Sequence, label: Any, quoting: str, header: bool) -> Records:
    """CSV/TSV with the csv module, which keeps quoted delimiters and line breaks inside a field; each record's
    start line is kept for messages."""
    records = Records(str(path), path.name, [], [], [])
    quote_mode = csv.QUOTE_NONE if quoting == "none" else csv.QUOTE_MINIMAL
    with open(path, encoding="utf-8-sig", newline="") as fh, decoding(path, "utf-8-sig"):
        reader = csv.reader(fh, delimiter=DELIMITERS[fmt], quoting=quote_mode, strict=True)
        positions, start = None, 1
        try:
            for row in reader:
                line, start = start, reader.line_num + 1
                if not row:
                    continue
                if positions is None:
                    positions = _positions(path, [c.strip() for c in row] if header else None, [*names, label])
                    # columns counted from the start and from the end must not overlap
                    needed = max((p + 1 for p in positions if p >= 0), default=0) + max(
                        (-p for p in positions if p < 0), default=0)
                    if header:
                        continue
                if len(row) < needed:
                    raise DataError(
                        f"'{path}', line {line}: {len(row)} field(s), expected at least {needed} "
                        f"({'quoting: csv' if quoting == 'none' else 'quoting: none'} or another format?)"
                    )
                fields = [row[p] for p in positions]
                records.texts.append(tuple(fields[:-1]))
                _add_label(records, fields[-1], path, line, label)
                records.lines.append(line)
        except csv.Error as exc:
            if "end of data" in str(exc):  # the file ended inside a quoted field: say where that record starts
                raise DataError(f"'{path}', line {start}: not valid {fmt.upper()} (a quoted field opened in this "
                                "record is never closed; or set quoting: none)") from None
            raise DataError(f"'{path}', line {reader.line_num}: not valid {fmt.upper()} ({exc})") from None
    return records


def read_records(path: str, options: dict) -> Records:
    file = Path(path).expanduser()
    problem = file_problem(file)
    if problem:
        raise DataError(f"'{path}': {problem} (task 'text-classification')")
    fmt = file_format(file, options["format"])
    if fmt == "jsonl":
        records = read_jsonl(file, options["text"], options["label"])
    else:
        records = read_delimited(file, fmt, options["text"], options["label"], options["quoting"], options["header"])
    if not records.labels:
        raise DataError(f"'{path}': no data rows")
    records.path = path
    return records


# --- splits -------------------------------------------------------------------------------------------------------

def sort_values(values) -> list[str]:
    """Label values in class order: numerically when all are numbers, else as strings."""
    unique = set(values)
    try:
        return sorted(unique, key=float)
    except ValueError:
        return sorted(unique)


def trimmed(texts: tuple[str, ...]) -> tuple[str, ...]:
    """A record's text(s) as the splits hold them: spaces at the ends trimmed."""
    return tuple(text.strip() for text in texts)


def to_split(groups: list[tuple[str | None, Records]], lookup: dict[str, int], label_column, with_domain: bool,
             modality: str) -> SplitData:
    texts, labels, ids, domains = [], [], [], []
    for domain, records in groups:
        texts += [trimmed(t)[0] if modality == "text" else trimmed(t) for t in records.texts]
        labels.append(encode_classes(records.labels, lookup, records.path, records.lines, field=str(label_column)))
        ids += [f"{records.id_prefix}:{line}" for line in records.lines]
        domains += [domain or SOURCE_DOMAIN] * len(records.lines)
    meta = {"domain": np.asarray(domains)} if with_domain else {}
    return SplitData(modality, texts, np.concatenate(labels), np.asarray(ids), meta)


def read_groups(files: dict | None, options: dict, seen: set[str]) -> list[tuple[str | None, Records]]:
    groups = []
    for domain, paths in (files or {}).items():
        for path in paths:
            if path in seen:
                raise ConfigError(f"task 'text-classification': file '{path}' is given twice (each file once)")
            seen.add(path)
            groups.append((domain, read_records(path, options)))
    return groups


def count_test_duplicates(test: list[Records], known: list[Records]) -> list[dict[str, Any]]:
    """For every test file: how many of its samples have a text that a train or val file holds exactly (`duplicates`,
    each sample once), and how many each of those files holds (`in`, files with none left out)."""
    texts = [(records.path, {trimmed(t) for t in records.texts}) for records in known]
    counts = []
    for records in test:
        own = [trimmed(t) for t in records.texts]
        per_file = {path: sum(t in held for t in own) for path, held in texts}
        counts.append({
            "test": records.path,
            "samples": len(own),
            "duplicates": sum(any(t in held for _, held in texts) for t in own),
            "in": {path: n for path, n in per_file.items() if n},
        })
    return counts


def check_test_duplicates(counts: list[dict[str, Any]], allowed: bool) -> None:
    """Refuse a test file with more than MAX_DUPLICATE_SHARE of its samples in a train or val file, unless allowed."""
    for count in counts:
        share = count["duplicates"] / count["samples"]
        if share > MAX_DUPLICATE_SHARE and not allowed:
            where = " and ".join(f"'{path}' ({n})" for path, n in count["in"].items())
            raise DataError(
                f"task 'text-classification', option 'test': '{count['test']}' has {count['duplicates']} of "
                f"{count['samples']} texts ({share:.1%}) exactly as in {where}, more than the "
                f"{MAX_DUPLICATE_SHARE:.0%} allowed (samples seen in training flatter every method); remove them, "
                "or set allow_test_duplicates: true"
            )


def build(options: dict, seed: int) -> PreparedTask:
    if options["test_fraction"] and SOURCE_DOMAIN in (options["test"] or {}):
        raise ConfigError(f"task 'text-classification', option 'test': the domain name {SOURCE_DOMAIN!r} is taken by "
                          f"the in-domain rows that test_fraction ({options['test_fraction']}) holds out of train, "
                          "and they would be merged into one domain; rename that test domain, or leave test_fraction "
                          "out")
    seen: set[str] = set()
    train, val, test = (read_groups(options[name], options, seen) for name in ("train", "val", "test"))
    duplicates = count_test_duplicates([records for _, records in test], [records for _, records in train + val])
    check_test_duplicates(duplicates, options["allow_test_duplicates"])
    every = [records for groups in (train, val, test) for _, records in groups]
    if len({records.id_prefix for records in every}) < len(every):  # two files of the same name: ids need the path
        for records in every:
            records.id_prefix = records.path
    values = options["label_values"] or sort_values(v.strip() for _, records in train for v in records.labels)
    if len(values) < 2:
        raise DataError(f"'{train[0][1].path}', column '{options['label']}': one label value only ({values[0]!r}); "
                        "a classification task needs at least two")
    lookup = {value: index for index, value in enumerate(values)}
    with_domain = any(domain is not None for name in ("train", "val", "test") for domain in (options[name] or {}))
    modality = "text-pair" if len(options["text"]) == 2 else "text"

    def split(groups):
        return to_split(groups, lookup, options["label"], with_domain, modality)

    pool = split(train)
    test_fraction = options["test_fraction"] or (DEFAULT_TEST_FRACTION if not test else None)
    held_out = None
    if test_fraction:
        pool, held_out = hold_out(pool, test_fraction, seed, "test")
    test_split = _concat([part for part in (held_out, split(test) if test else None) if part is not None])
    if val:
        splits = {"train": pool, "val": split(val), "test": test_split}
        splits = carve_splits_given_val(splits, options, seed)
    else:
        splits = carve_splits(pool, test_split, options, seed)
    check_every_class_trained(splits["train"].labels, values, [records.path for _, records in train])
    notes = {
        "source": ", ".join(records.path for _, records in train),
        "test_source": ", ".join(
            ([f"{test_fraction} of train (seeded)"] if test_fraction else []) + [r.path for _, r in test]
        ),
        "label_values": values,
        "test_duplicates": duplicates,
    }
    return PreparedTask(splits, label_names=values, notes=notes)


def check_every_class_trained(labels: np.ndarray, values: list[str], paths: list[str]) -> None:
    """Refuse train file(s) that leave the train split without some class (a one-class file with label_values, or
    a class whose few rows all went to val or test): the model could never predict it, silently."""
    counts = np.bincount(labels, minlength=len(values))
    missing = [value for value, count in zip(values, counts) if count == 0]
    if missing:
        raise DataError(f"task 'text-classification', option 'train': {' + '.join(repr(p) for p in paths)} leave(s) "
                        f"the train split ({len(labels)} rows) without class {missing[0]!r}; every class of "
                        f"{values} needs training rows")


def _concat(parts: list[SplitData]) -> SplitData:
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    return SplitData(
        first.modality,
        [x for part in parts for x in part.inputs],
        np.concatenate([part.labels for part in parts]),
        np.concatenate([part.sample_ids for part in parts]),
        {key: np.concatenate([part.meta[key] for part in parts]) for key in first.meta},
    )


def carve_splits_given_val(splits: dict[str, SplitData], options: dict, seed: int) -> dict[str, SplitData]:
    """With a val file there is nothing to carve; only the `max_*` caps apply."""
    return {name: s.subset(cap(s.labels, options[f"max_{name}"], seed, f"max_{name}")) for name, s in splits.items()}


SPECS = [
    TaskSpec(
        name="text-classification",
        modality="text",  # "text-pair" when `text` names two columns
        n_classes=2,  # the data's label values decide (label_names come from the files)
        metric="accuracy",
        description="text classification from your own CSV/TSV/JSONL files (optionally several test domains)",
        options=OPTIONS,
        build=build,
    )
]
