"""Task registry, option validation and the prepared-data contract (load_split / load_info)."""

import json

import numpy as np
import pytest

from eebench.errors import ConfigError, DataError
from eebench.tasks import TASKS, get_task, load_info, load_split, prepare_task


def test_unknown_task_lists_valid_names():
    with pytest.raises(ConfigError, match="unknown task 'nope'.*digits.*synth-sentiment"):
        get_task("nope")


def test_every_spec_is_complete():
    for name, spec in TASKS.items():
        assert spec.name == name
        assert spec.modality in ("text", "text-pair", "image", "image-caption")
        caption = spec.modality == "image-caption"  # prepared in its own format, scored by a sequence metric
        assert spec.metric in (("cider",) if caption else ("accuracy", "f1", "mcc", "pearson-spearman"))
        assert ((spec.prepare is not None) if caption else (spec.build is not None)) and spec.description
        assert spec.n_classes == 1 or spec.label_names == () or len(spec.label_names) == spec.n_classes


def test_unknown_option_names_task_key_and_allowed_keys(tmp_path):
    with pytest.raises(ConfigError, match=r"task 'digits', option 'val_frac': unknown option; allowed options: test_fraction, val_fraction"):
        prepare_task("digits", {"val_frac": 0.1}, tmp_path, 0)
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("value", [0, 1.5, "0.1", True, float("nan")])
def test_bad_option_value_says_what_is_allowed(tmp_path, value):
    with pytest.raises(ConfigError, match=r"task 'digits', option 'val_fraction'.*a finite number in \(0, 1\)"):
        prepare_task("digits", {"val_fraction": value}, tmp_path, 0)


def test_unknown_split_is_a_config_error(tmp_path):
    prepare_task("synth-sentiment", {"train_size": 8, "val_size": 4, "test_size": 4}, tmp_path, 0)
    with pytest.raises(ConfigError, match="unknown split 'dev'.*train, val, test"):
        load_split(tmp_path, "dev")


def test_missing_split_file_names_the_file(tmp_path):
    prepare_task("synth-sentiment", {"train_size": 8, "val_size": 4, "test_size": 4}, tmp_path, 0)
    (tmp_path / "val.jsonl").unlink()
    with pytest.raises(DataError, match="val.jsonl.*file not found"):
        load_split(tmp_path, "val")


def test_malformed_jsonl_line_names_file_and_line(tmp_path):
    prepare_task("synth-sentiment", {"train_size": 8, "val_size": 4, "test_size": 4}, tmp_path, 0)
    lines = (tmp_path / "test.jsonl").read_text().splitlines()
    record = json.loads(lines[1])
    del record["label"]
    lines[1] = json.dumps(record)
    (tmp_path / "test.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match="test.jsonl', line 2: missing field 'label'"):
        load_split(tmp_path, "test")


def test_empty_split_file_is_an_error(tmp_path):
    prepare_task("synth-sentiment", {"train_size": 8, "val_size": 4, "test_size": 4}, tmp_path, 0)
    (tmp_path / "train.jsonl").write_text("")
    with pytest.raises(DataError, match="train.jsonl.*empty"):
        load_split(tmp_path, "train")


def test_missing_info_names_the_file(tmp_path):
    with pytest.raises(DataError, match="info.json.*not found"):
        load_info(tmp_path)


def test_corrupt_npz_names_the_file(tmp_path):
    prepare_task("digits", {}, tmp_path, 0)
    (tmp_path / "val.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="val.npz.*not a readable"):
        load_split(tmp_path, "val")
    np.savez(tmp_path / "val.npz", images=np.zeros((2, 8, 8), np.uint8), labels=np.zeros(2, int))
    with pytest.raises(DataError, match="val.npz.*missing field 'sample_ids'"):
        load_split(tmp_path, "val")
