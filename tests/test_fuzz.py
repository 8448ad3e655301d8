"""Property-based hostile input: hypothesis generates task files (CSV/TSV/JSONL with random quoting, encodings and
labels) for `text-classification`, and exits/costs/fit files for `evaluate-logits`, `fit` and `evaluate`, and runs
the library entry points in-process. The contract for every generated input: a valid result, or an EEBenchError
whose message is one line naming an input file, and in either case nothing written but the declared outputs (no
partial output, no temporary file, nothing outside the output folder). Any other exception fails the test.

The example budget is fixed and the generation derandomized, so CI runs the same examples every time (in well
under a minute on two cores); a failure prints the input that broke the contract, to add to test_bad_inputs.py."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import tempfile
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
from hypothesis import HealthCheck, event, given, settings, strategies as st

from eebench.errors import EEBenchError
from eebench.exits import load_exit_outputs
from eebench.stages import evaluate, evaluate_logits, fit
from eebench.tasks import prepare_task
from eebench.tasks.storage import SPLITS, load_info, load_split

FUZZ = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def snapshot(folder: Path) -> set[Path]:
    return {path for path in folder.rglob("*")}


@contextlib.contextmanager
def workspace() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="eebench-fuzz-") as name:
        yield Path(name)


def holds_contract(run: Callable[[], None], root: Path, inputs: list[Path | str], outputs: list[Path]) -> bool:
    """Run `run` in `root`; True when it succeeded (only `outputs` are new under root), False when it refused with
    a one-line EEBenchError naming one of `inputs` (a file, or an option as "option 'NAME'"; nothing new under
    root). Any other exception propagates."""
    before = snapshot(root)
    try:
        run()
    except EEBenchError as error:
        message = str(error)
        assert "\n" not in message and "\r" not in message, f"not one line: {message!r}"
        names = [item.name if isinstance(item, Path) else item for item in inputs]
        assert any(name in message for name in names), f"names no input ({names}): {message}"
        assert snapshot(root) == before, f"left behind: {sorted(map(str, snapshot(root) - before))}"
        event(f"refused: {message.replace(str(root), '').split(': ', 2)[-1][:40]}")  # --hypothesis-show-statistics: what was exercised
        return False
    new = snapshot(root) - before
    # the outputs, what is inside them, and the folders above them that the stage creates
    allowed = set(outputs) | {p for out in outputs for p in new if out in p.parents or p in out.parents}
    assert new <= allowed, f"written outside the outputs: {sorted(map(str, new - allowed))}"
    event("accepted")
    return True


# -- text-classification task files ----------------------------------------------------------------------------

TEXT_CHARS = st.sampled_from(list('ab xé€,;\t"\'\n\r\\') + ["\u2028", "\x00", "\ufeff"])
TEXTS = st.text(TEXT_CHARS, max_size=10) | st.text(max_size=6)
LABELS = st.sampled_from(["0", "1", "1.0", "01", " 1", "2", "pos", "neg", "", "nan", "NaN", "null", "inf", "1e999",
                          "-0", '"1"', "1,0"])
JSON_LABELS = LABELS | st.sampled_from([0, 1, 1.0, 2, -1, True, None, [1], {"a": 1}, 1e300])
ENCODINGS = st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "cp1252", "utf-16"])
QUOTING = st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC, "raw"])


def sometimes(draw, out_of: int = 4) -> bool:
    """True once in `out_of` draws: each kind of damage is rare, so most examples reach deep into the stage."""
    return draw(st.integers(0, out_of - 1)) == out_of - 1  # hypothesis shrinks towards 0: towards no damage


@st.composite
def task_file(draw) -> tuple[str, bytes, dict]:
    """(file name, bytes, the options that read it) of a text-classification train file."""
    fmt = draw(st.sampled_from(["csv", "tsv", "jsonl"]))
    pool = draw(st.lists(JSON_LABELS if fmt == "jsonl" else LABELS, min_size=1, max_size=3))
    if not sometimes(draw):
        pool = draw(st.sampled_from([["0", "1"], ["neg", "pos"], [0, 1] if fmt == "jsonl" else ["1", "0", "2"]]))
    texts = draw(st.lists(TEXTS, min_size=1, max_size=8))
    n_rows = draw(st.sampled_from([120, 300, 30, 5, 1, 0]))  # the first is where shrinking heads
    rows = [(f"review {i} {texts[i % len(texts)]}", pool[(i * 7 + i // 3) % len(pool)]) for i in range(n_rows)]
    header = not sometimes(draw)
    options: dict = {"header": header if not sometimes(draw, 8) else not header,
                     "quoting": "csv" if not sometimes(draw) else "none"}
    if fmt == "jsonl":
        lines = [json.dumps({"text": text, "label": label}, ensure_ascii=draw(st.booleans())) for text, label in rows]
        text = "\n".join(lines) + ("\n" if not sometimes(draw) else draw(st.sampled_from(["", "\n\n", "\n{"])))
    else:
        buffer = io.StringIO()
        delimiter = "," if fmt == "csv" else "\t"
        quoting = draw(QUOTING)
        table = ([("text", "label")] if header else []) + [(t, str(label)) for t, label in rows]
        if quoting == "raw":
            buffer.write("\n".join(delimiter.join(row) for row in table) + "\n")
        else:
            csv.writer(buffer, delimiter=delimiter, quoting=quoting, lineterminator="\n").writerows(table)
        text = buffer.getvalue()
        if not options["header"]:
            options.update(text=0, label=1)
    data = text.encode("utf-8" if not sometimes(draw) else draw(ENCODINGS), errors="replace")
    if data and sometimes(draw):  # one damaged byte somewhere: invalid UTF-8, a stray quote, a cut line
        at = draw(st.integers(0, len(data) - 1))
        data = data[:at] + draw(st.sampled_from([b"\xe9", b'"', b"\n", b"\x00", b"\xff\xfe"])) + data[at + 1:]
    return f"train.{fmt if not sometimes(draw, 8) else draw(st.sampled_from(['txt', 'json', 'dat']))}", data, options


@FUZZ
@given(task_file(), st.sampled_from([None, 0.01, 0.3]))
def test_prepare_text_classification_keeps_the_contract(file, tolerance):
    name, data, options = file
    with workspace() as root:
        train = root / name
        train.write_bytes(data)
        out = root / "results" / "data" / "text-classification"
        run = lambda: prepare_task("text-classification", {"train": str(train), **options}, out, 0, tolerance)  # noqa: E731
        if holds_contract(run, root, [train], [out]):
            info = load_info(out)
            assert sum(info["sizes"].values()) <= max(1, len(data))
            for split in SPLITS:
                assert len(load_split(out, split)) == info["sizes"][split] > 0


TASK_OPTIONS = st.fixed_dictionaries({}, optional={
    "val_fraction": st.sampled_from([0.1, 0.5, 0.99, 0, 1, -1, "x", None]),
    "test_fraction": st.sampled_from([0.2, 0.9, 0, 1, None]),
    "label_values": st.sampled_from([None, ["0", "1"], ["1", "0", "2"], ["1", "1.0"], ["neg", "pos"], "0,1", [1]]),
    "max_train": st.sampled_from([None, 1, 10, 0]),
    "max_val": st.sampled_from([None, 1, 200]),
    "format": st.sampled_from(["auto", "csv", "tsv", "jsonl", "xml"]),
    "allow_test_duplicates": st.booleans(),
})


@FUZZ
@given(task_file(), task_file(), TASK_OPTIONS, st.sampled_from(["plain", "file", "domains", "same-file"]))
def test_prepare_with_test_files_and_options_keeps_the_contract(train_file, test_file, options, test_kind):
    """A train and a test file (the test one given plainly, as domains, or the train file again) with random task
    options on top of the files' own."""
    with workspace() as root:
        (root / "train").mkdir()
        (root / "test").mkdir()
        train, test = root / "train" / train_file[0], root / "test" / test_file[0]
        train.write_bytes(train_file[1])
        test.write_bytes(test_file[1])
        given = {"plain": None, "file": str(test), "domains": {"books": str(test), "films": str(train)},
                 "same-file": str(train)}[test_kind]
        merged = {"train": str(train), **train_file[2], **options, **({"test": given} if given else {})}
        out = root / "prepared"
        named = [train, test, *(f"option {key!r}" for key in options)]
        if holds_contract(lambda: prepare_task("text-classification", merged, out, 1), root, named, [out]):
            assert load_info(out)["sizes"]["train"] > 0


# -- exits, costs and fit files ------------------------------------------------------------------------------------

DTYPES = st.sampled_from([np.float32, np.float64, np.float16, np.int64, np.bool_])


@st.composite
def exits_file(draw, layers: int, classes: int) -> bytes:
    """An exits .npz (or something in its place): logits, labels, sample_ids with random values and, now and
    then, one kind of damage (another shape among them)."""
    n = draw(st.sampled_from([150, 10, 2, 1, 0]))
    if sometimes(draw, 8):
        layers, classes = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    with np.errstate(over="ignore", invalid="ignore"):
        logits = (rng.normal(size=(n, layers, classes)) * draw(st.sampled_from([1, 1e3, 1e30])))
        logits = logits.astype(np.float32 if not sometimes(draw) else draw(DTYPES))
    if n and sometimes(draw):
        logits = logits.astype(np.float32)
        logits.flat[draw(st.integers(0, logits.size - 1))] = draw(st.sampled_from([np.nan, np.inf, -np.inf, 1e38]))
    high = max(classes, 2) + (0 if not sometimes(draw) else draw(st.sampled_from([-1, 1])))
    labels = rng.integers(0 if not sometimes(draw, 8) else -1, high, size=n)
    arrays = {"logits": logits, "labels": labels.astype(draw(st.sampled_from([np.int64, np.float64, np.int8])))}
    if draw(st.booleans()):
        arrays["sample_ids"] = np.arange(n + (0 if not sometimes(draw) else draw(st.sampled_from([-1, 1]))))
    if sometimes(draw, 8):
        arrays.pop(draw(st.sampled_from(["logits", "labels"])))
    if n and sometimes(draw, 8):
        arrays["logits"] = logits.reshape(n, -1)
    buffer = io.BytesIO()
    kind = "npz" if not sometimes(draw, 6) else draw(st.sampled_from(["npy", "text", "truncated", "pickled"]))
    if kind == "npy":
        np.save(buffer, logits)
    elif kind == "text":
        buffer.write(b"logits,labels\n1,0\n")
    elif kind == "pickled":
        np.savez(buffer, **arrays, extra=np.array([{"a": 1}], dtype=object))
    else:
        np.savez(buffer, **arrays)
    data = buffer.getvalue()
    return data[: len(data) // 2] if kind == "truncated" else data


COSTS = st.one_of(
    st.lists(st.integers(1, 10**9), min_size=1, max_size=4).map(lambda steps: np.cumsum(steps).tolist()),
    st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32) | st.integers(-5, 10**6), max_size=5),
    st.fixed_dictionaries({"cumulative_flops": st.lists(st.floats(0, 1e12) | st.integers(0, 10**12), max_size=5)}),
    st.none() | st.just("flops") | st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)
@st.composite
def exits_files(draw, layers: int | None = None) -> tuple[bytes, bytes]:
    """Val and test exits of one model: the same exits and classes unless damaged."""
    layers = layers or draw(st.integers(1, 4))
    classes = draw(st.integers(2, 4)) if not sometimes(draw, 8) else 1  # 1: regression outputs
    return draw(exits_file(layers, classes)), draw(exits_file(layers, classes))


POLICIES = st.sampled_from(["maxprob", "entropy", "patience", "beem-c", "pcee", "static", "final", "oracle"])


def costs_text(draw_costs, valid: bool) -> str:
    return json.dumps(draw_costs, allow_nan=True) if valid else '{"cumulative_flops": [1, 2'


@FUZZ
@given(exits_files(), COSTS, st.booleans(), st.booleans(), POLICIES)
def test_evaluate_logits_keeps_the_contract(files, costs, with_costs, costs_valid, policy):
    val_bytes, test_bytes = files
    with workspace() as root:
        val, test, costs_path = root / "val.npz", root / "test.npz", root / "costs.json"
        val.write_bytes(val_bytes)
        test.write_bytes(test_bytes)
        costs_path.write_text(costs_text(costs, costs_valid))
        run = lambda: evaluate_logits(val, test, policy, (), costs_path if with_costs else None,  # noqa: E731
                                      allow_degenerate_val=True)
        with contextlib.redirect_stdout(io.StringIO()):
            holds_contract(run, root, [val, test, costs_path], [])


FITTED = st.one_of(
    st.fixed_dictionaries({"threshold_": st.floats(allow_nan=True, allow_infinity=True) | st.none() | st.text(max_size=3)}),
    st.dictionaries(st.sampled_from(["threshold_", "n_exits_", "n_classes_", "closed_exits_", "bogus_"]),
                    st.integers(-2, 5) | st.floats(allow_nan=True) | st.lists(st.integers(-1, 5), max_size=4)),
)


@FUZZ
@given(exits_files(layers=3), st.booleans(), FITTED, st.booleans(),
       st.sampled_from([0.01, 0.5, 1.0, -0.1, None, "x"]))
def test_fit_then_evaluate_with_a_hand_edited_fit_json_keeps_the_contract(files, refit, fitted, keep_params,
                                                                          tolerance):
    test_bytes = files[1]
    with workspace() as root:
        val, test, fit_json = root / "val.npz", root / "test.npz", root / "fit.json"
        rng = np.random.default_rng(0)
        np.savez(val, logits=rng.normal(size=(200, 3, 2)).astype(np.float32), labels=rng.integers(0, 2, 200))
        test.write_bytes(test_bytes)
        assert holds_contract(lambda: fit(val, "maxprob", fit_json), root, [val], [fit_json])
        record = json.loads(fit_json.read_text())
        if not refit:
            record["fitted"] = {**record["fitted"], **fitted}
            if not keep_params:
                record["params"] = fitted
            record["tolerance"] = tolerance
            fit_json.write_text(json.dumps(record, allow_nan=True))
        out = root / "test.json"
        if holds_contract(lambda: evaluate(fit_json, test, out), root, [fit_json, test], [out]):
            result = json.loads(out.read_text())  # strict JSON: no NaN reached it
            assert isinstance(result, dict)
            assert load_exit_outputs(test).n_samples > 0


# -- config files --------------------------------------------------------------------------------------------------

BASE_CONFIG = {"seeds": [0], "experiments": [{"task": "digits", "backbones": ["mlp"], "strategies": ["joint"]}],
               "policies": {"maxprob": {}}}
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2, 2**70) | st.floats() | st.text(TEXT_CHARS, max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(TEXT_CHARS, max_size=6), inner, max_size=3),
    max_leaves=8,
)
PLACES = st.sampled_from([(), ("seeds",), ("experiments",), ("experiments", 0), ("experiments", 0, "task"),
                          ("experiments", 0, "backbones"), ("policies",), ("policies", "maxprob"), ("training",),
                          ("policy_fit",), ("results_dir",), ("latency",), ("tasks",), ("tasks", "digits")])


def edit(config: dict, place: tuple, key: str, value, inside: bool) -> None:
    """Put `value` at `place` of `config` (at `place` + `key` when `inside` and `place` holds a mapping)."""
    node: object = config
    for step in place:
        if inside and step == place[-1] and isinstance(node, dict) and isinstance(node.get(step), dict):
            node[step][key] = value
            return
        if step == place[-1] and isinstance(node, dict):
            node[step] = value
            return
        try:
            node = node[step]  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            return
    config[key] = value


@FUZZ
@given(st.lists(st.tuples(PLACES, st.sampled_from(["lr", "tolerance", "method"]) | st.text(TEXT_CHARS, max_size=6),
                          VALUES, st.booleans()), max_size=3), st.booleans())
def test_config_check_keeps_the_contract(edits, as_json_text):
    """Random values at random places of a valid config, written as YAML (or JSON, which is YAML too)."""
    import yaml

    from eebench.config import load_config

    config = json.loads(json.dumps(BASE_CONFIG))
    for place, key, value, inside in edits:
        edit(config, place, key, value, inside)
    with workspace() as root:
        path = root / "config.yaml"
        path.write_text(json.dumps(config, allow_nan=True) if as_json_text else yaml.safe_dump(config))
        if holds_contract(lambda: load_config(path), root, [path], []):
            assert isinstance(load_config(path), dict)
