"""`text-classification`: users' own CSV/TSV/JSONL files — real quoting, multi-line fields, sentence pairs, several
test domains — and one clear error naming file, line and column for bad input."""

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eebench.errors import ConfigError, DataError
from eebench.tasks import load_info, load_split, prepare_task
from eebench.tasks.text_files import MAX_DUPLICATE_SHARE

REVIEWS_CSV = '''id,review,rating
1,"Great phone, would buy again.",pos
2,"Broke after a week.
Then support said ""not our problem"".",neg
3,plain text without quotes,pos
4,"Three
lines
here, with commas",neg
5,"Battery lasts ""forever""",pos
6,Awful,neg
7,Lovely screen,pos
8,"Meh, returned it",neg
9,Fine,pos
10,Slow,neg
'''


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return str(path)


def lines_of(out, split):
    return [json.loads(line) for line in (out / f"{split}.jsonl").read_text().splitlines()]


def test_csv_with_quoted_commas_escaped_quotes_and_multiline_fields(tmp_path):
    train = write(tmp_path / "reviews.csv", REVIEWS_CSV)
    out = tmp_path / "out"
    prepare_task("text-classification", {"train": train, "text": "review", "label": "rating", "test_fraction": 0.2,
                                         "val_fraction": 0.25}, out, 0)
    records = [r for split in ("train", "val", "test") for r in lines_of(out, split)]
    by_id = {r["id"]: r for r in records}
    assert len(records) == 10  # every record once, across the three splits
    assert by_id["reviews.csv:3"]["text"] == 'Broke after a week.\nThen support said "not our problem".'
    assert by_id["reviews.csv:3"]["label"] == 0  # label values sorted: neg = 0, pos = 1
    assert by_id["reviews.csv:6"]["text"] == "Three\nlines\nhere, with commas"  # starts on line 6, spans 3 lines
    assert by_id["reviews.csv:9"]["text"] == 'Battery lasts "forever"'
    info = load_info(out)
    assert info["label_names"] == ["neg", "pos"] and info["modality"] == "text" and info["n_classes"] == 2
    assert "domain" not in records[0]  # no domains named: no domain field


def test_tsv_without_quote_handling_keeps_bare_quotes(tmp_path):
    rows = ['He said "great" and left.\t1', '"Quoted start but no end\t0', "fine\t1", "bad\t0", "ok\t1", "no\t0"]
    train = write(tmp_path / "s.txt", "\n".join(rows) + "\n")
    out = tmp_path / "out"
    prepare_task("text-classification", {"train": train, "text": 0, "label": -1, "header": False, "quoting": "none",
                                         "test_fraction": 0.34, "val_fraction": 0.25}, out, 0)
    texts = {r["text"] for split in ("train", "val", "test") for r in lines_of(out, split)}
    assert 'He said "great" and left.' in texts and '"Quoted start but no end' in texts


def test_jsonl_sentence_pairs_with_integer_labels_sorted_numerically(tmp_path):
    rows = [{"q1": f"question {i}", "q2": f"other {i}", "dup": i % 3 * 5} for i in range(12)]  # labels 0, 5, 10
    train = write(tmp_path / "pairs.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n")
    out = tmp_path / "out"
    prepare_task("text-classification", {"train": train, "text": ["q1", "q2"], "label": "dup"}, out, 0)
    info = load_info(out)
    assert info["modality"] == "text-pair" and info["label_names"] == ["0", "5", "10"]
    split = load_split(out, "train")
    first = split.inputs[0]
    number = first[0].split()[1]
    assert first == (f"question {number}", f"other {number}")
    assert split.labels[0] == int(number) % 3


def test_domain_shift_reports_each_target_domain_in_stream_order(tmp_path):
    source = write(tmp_path / "source.tsv", "text\tlabel\n" + "".join(f"s{i}\t{i % 2}\n" for i in range(20)))
    books = write(tmp_path / "books.tsv", "text\tlabel\n" + "".join(f"b{i}\t{i % 2}\n" for i in range(6)))
    films = write(tmp_path / "films.csv", "text,label\n" + "".join(f"f{i},{i % 2}\n" for i in range(4)))
    out = tmp_path / "out"
    info = prepare_task("text-classification", {"train": source, "test": {"films": films, "books": books},
                                                "format": "auto", "test_fraction": 0.2}, out, 0)
    test = lines_of(out, "test")
    assert [r["domain"] for r in test] == ["source"] * 4 + ["films"] * 4 + ["books"] * 6  # as given, not sorted
    assert [r["text"] for r in test[4:]] == [f"f{i}" for i in range(4)] + [f"b{i}" for i in range(6)]
    assert {r["domain"] for r in lines_of(out, "train") + lines_of(out, "val")} == {"source"}
    assert list(info["splits"]["test"]["meta_distribution"]["domain"].items()) == [
        ("source", 4), ("films", 4), ("books", 6)]


def test_a_val_file_is_used_as_given(tmp_path):
    train = write(tmp_path / "train.jsonl", "".join(json.dumps({"text": f"t{i}", "label": i % 2}) + "\n" for i in range(8)))
    val = write(tmp_path / "val.jsonl", "".join(json.dumps({"text": f"v{i}", "label": i % 2}) + "\n" for i in range(4)))
    test = write(tmp_path / "test.jsonl", "".join(json.dumps({"text": f"x{i}", "label": i % 2}) + "\n" for i in range(6)))
    info = prepare_task("text-classification", {"train": train, "val": val, "test": test}, tmp_path / "out", 0)
    assert info["sizes"] == {"train": 8, "val": 4, "test": 6}
    assert [r["text"] for r in lines_of(tmp_path / "out", "val")] == [f"v{i}" for i in range(4)]


def test_same_seed_gives_identical_files(tmp_path):
    train = write(tmp_path / "reviews.csv", REVIEWS_CSV)
    options = {"train": train, "text": "review", "label": "rating", "test_fraction": 0.2, "val_fraction": 0.25}
    prepare_task("text-classification", options, tmp_path / "a", 3)
    prepare_task("text-classification", options, tmp_path / "b", 3)
    for split in ("train", "val", "test"):
        assert (tmp_path / "a" / f"{split}.jsonl").read_bytes() == (tmp_path / "b" / f"{split}.jsonl").read_bytes()


def test_unknown_label_value_names_file_line_column_and_allowed_values(tmp_path):
    train = write(tmp_path / "train.csv", "text,stars\na,good\nb,bad\nc,good\nd,bad\n")
    test = write(tmp_path / "test.csv", "text,stars\nx,good\n\"multi\nline\",neutral\n")
    with pytest.raises(DataError, match=r"test.csv', line 3, field 'stars': got 'neutral' \(allowed: bad, good\)"):
        prepare_task("text-classification", {"train": train, "test": test, "label": "stars"}, tmp_path / "out", 0)
    assert not (tmp_path / "out").exists()


def test_given_label_values_fix_the_class_order(tmp_path):
    train = write(tmp_path / "train.csv", "text,stars\na,good\nb,bad\nc,good\nd,bad\ne,good\n")
    info = prepare_task("text-classification", {"train": train, "label": "stars", "label_values": ["good", "bad"]},
                        tmp_path / "out", 0)
    assert info["label_names"] == ["good", "bad"]


def test_missing_column_lists_the_header(tmp_path):
    train = write(tmp_path / "train.csv", "review,label\na,1\n")
    with pytest.raises(DataError, match=r"train.csv': missing column 'text' \(header has: review, label\)"):
        prepare_task("text-classification", {"train": train}, tmp_path / "out", 0)


def test_missing_json_field_names_file_and_line(tmp_path):
    train = write(tmp_path / "train.jsonl", '{"text": "a", "label": 1}\n{"txt": "b", "label": 0}\n')
    with pytest.raises(DataError, match=r"train.jsonl', line 2: missing field 'text'"):
        prepare_task("text-classification", {"train": train}, tmp_path / "out", 0)


def test_unterminated_quote_is_a_clear_error(tmp_path):
    train = write(tmp_path / "train.csv", 'text,label\n"never closed,1\nb,0\n')
    with pytest.raises(DataError, match=r"train.csv', line \d+: not valid CSV"):
        prepare_task("text-classification", {"train": train}, tmp_path / "out", 0)


def test_short_row_names_the_line(tmp_path):
    train = write(tmp_path / "train.tsv", "text\tlabel\na\t1\nno label here\nc\t0\n")
    with pytest.raises(DataError, match=r"train.tsv', line 3: 1 field\(s\), expected at least 2"):
        prepare_task("text-classification", {"train": train}, tmp_path / "out", 0)


@pytest.mark.parametrize(
    "options, message",
    [
        ({}, r"option 'train': required; expected a file path, a list of file paths, or a mapping"),
        ({"train": "x.csv", "text": ["a", "b", "c"]}, r"option 'text'.*expected a column .*, or a list of two"),
        ({"train": "x.csv", "format": "xlsx"}, r"option 'format'.*'auto', 'csv', 'tsv', 'jsonl'"),
        ({"train": "x.csv", "label_values": ["a"]}, r"option 'label_values'.*at least two"),
        ({"train": {"": "x.csv"}}, r"option 'train'.*domain name"),
    ],
)
def test_bad_options_say_what_is_allowed(tmp_path, options, message):
    with pytest.raises(ConfigError, match=message):
        prepare_task("text-classification", options, tmp_path / "out", 0)


def test_missing_file_and_unknown_extension(tmp_path):
    with pytest.raises(DataError, match=r"'nowhere.csv': file not found"):
        prepare_task("text-classification", {"train": "nowhere.csv"}, tmp_path / "out", 0)
    odd = write(tmp_path / "data.dat", "text,label\na,1\n")
    with pytest.raises(ConfigError, match=r"cannot tell the format of .*data.dat.*set format"):
        prepare_task("text-classification", {"train": odd}, tmp_path / "out", 0)


def test_header_false_needs_positions(tmp_path):
    train = write(tmp_path / "train.tsv", "a\t1\nb\t0\n")
    with pytest.raises(ConfigError, match=r"column 'text' is a name, but header is false"):
        prepare_task("text-classification", {"train": train, "header": False}, tmp_path / "out", 0)


def test_a_file_given_twice_is_refused(tmp_path):
    train = write(tmp_path / "train.csv", "text,label\na,1\nb,0\n")
    with pytest.raises(ConfigError, match="file '.*train.csv' is given twice"):
        prepare_task("text-classification", {"train": train, "test": {"again": train}}, tmp_path / "out", 0)


def jsonl(path, rows):
    return write(path, "".join(json.dumps({"text": text, "label": label}) + "\n" for text, label in rows))


def test_a_test_file_holding_the_train_rows_is_refused_naming_both_files(tmp_path):
    train_rows = [(f"train review {i}", i % 2) for i in range(40)]
    train = jsonl(tmp_path / "train.jsonl", train_rows)
    val = jsonl(tmp_path / "dev.jsonl", [(f"dev review {i}", i % 2) for i in range(10)])
    # a "test" file that, like a real corpus's, holds train and dev rows exactly (spaces around them aside)
    test = jsonl(tmp_path / "test.jsonl", [(f"  {t} ", y) for t, y in train_rows[:3]] + [("dev review 1", 1)]
                 + [(f"new review {i}", i % 2) for i in range(96)])
    options = {"train": train, "val": val, "test": test}
    out = tmp_path / "out"
    with pytest.raises(DataError) as error:
        prepare_task("text-classification", options, out, 0)
    message = str(error.value)
    assert "\n" not in message and "option 'test'" in message and "allow_test_duplicates: true" in message
    assert f"'{test}' has 4 of 100 texts (4.0%)" in message
    assert f"'{train}' (3) and '{val}' (1)" in message
    assert not out.exists()  # nothing written
    info = prepare_task("text-classification", {**options, "allow_test_duplicates": True}, out, 0)
    assert info["test_duplicates"] == [{"test": test, "samples": 100, "duplicates": 4, "in": {train: 3, val: 1}}]


def test_one_duplicate_in_a_hundred_is_allowed_and_counted(tmp_path):
    train = jsonl(tmp_path / "train.jsonl", [(f"t{i}", i % 2) for i in range(20)])
    books = jsonl(tmp_path / "books.jsonl", [("t0", 0)] + [(f"b{i}", i % 2) for i in range(99)])
    films = jsonl(tmp_path / "films.jsonl", [(f"f{i}", i % 2) for i in range(5)])
    info = prepare_task("text-classification", {"train": train, "test": {"books": books, "films": films}},
                        tmp_path / "out", 0)
    assert [(c["test"], c["duplicates"]) for c in info["test_duplicates"]] == [(books, 1), (films, 0)]


texts = st.sampled_from(["a", "b", "c", " a", "b ", "d e", ""])


@settings(max_examples=40, deadline=None)
@given(st.lists(texts, max_size=8), st.lists(texts, min_size=1, max_size=4),
       st.lists(st.lists(texts, min_size=1, max_size=6), min_size=1, max_size=3), st.booleans())
def test_duplicates_are_counted_exactly_and_refused_above_the_share(train_texts, val_texts, test_files, allowed):
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        train = jsonl(root / "train.jsonl", [("x", 0), ("y", 1)] + [(t, 0) for t in train_texts])
        val = jsonl(root / "val.jsonl", [(t, 1) for t in val_texts])
        tests = {f"d{i}": jsonl(root / f"test{i}.jsonl", [(t, i % 2) for t in file]) for i, file in enumerate(test_files)}
        known = {t.strip() for t in ["x", "y", *train_texts, *val_texts]}
        expected = [sum(t.strip() in known for t in file) for file in test_files]
        refused = not allowed and any(n / len(file) > MAX_DUPLICATE_SHARE for n, file in zip(expected, test_files))
        options = {"train": train, "val": val, "test": tests, "allow_test_duplicates": allowed}
        out = root / "out"
        if refused:
            with pytest.raises(DataError, match="allow_test_duplicates: true"):
                prepare_task("text-classification", options, out, 0)
            assert not out.exists()
        else:
            info = prepare_task("text-classification", options, out, 0)
            assert [count["duplicates"] for count in info["test_duplicates"]] == expected


@pytest.mark.parametrize("options, field", [
    ({"val": "VAL"}, "val"),  # a val file of 20 samples
    ({"val_fraction": 0.1}, "val_fraction"),  # 10 % of 200
    ({"val_fraction": 0.5, "max_val": 30}, "max_val"),  # 80 samples, capped to 30
])
def test_a_val_split_too_small_for_the_tolerance_is_refused_at_prepare_naming_its_option(tmp_path, options, field):
    train = jsonl(tmp_path / "train.jsonl", [(f"t{i}", i % 2) for i in range(200)])
    val = jsonl(tmp_path / "val.jsonl", [(f"v{i}", i % 2) for i in range(20)])
    options = {"train": train, "test_fraction": 0.2, **{k: val if v == "VAL" else v for k, v in options.items()}}
    out = tmp_path / "out"
    with pytest.raises(ConfigError) as error:
        prepare_task("text-classification", options, out, 0, tolerance=0.01)
    message = str(error.value)
    assert message.startswith(f"task 'text-classification', option '{field}': too small a val split for "
                              "policy_fit.tolerance") and "need at least 100 samples" in message
    assert "\n" not in message and not out.exists()
    info = prepare_task("text-classification", options, out, 0, tolerance=0.1)  # 16 samples resolve 1/16
    assert info["sizes"]["val"] in (16, 20, 30)
