"""`sentiment-shift` on the real UCI, TextFooler and SST-2 sentiment sets."""

import numpy as np
import pytest

from eebench.errors import ConfigError, DataError
from eebench.tasks import load_split, prepare_task

pytestmark = pytest.mark.realdata


def test_source_to_target_domains(shared_data, tmp_path):
    info = prepare_task("sentiment-shift", {"path": str(shared_data), "source": "uci-amazon", "target": "imdb"},
                        tmp_path, seed=0)
    assert info["sizes"] == {"train": 800, "val": 200, "test": 1000}
    assert info["domains"] == {"train": "uci-amazon", "val": "uci-amazon", "test": "imdb"}
    assert info["splits"]["train"]["label_distribution"] == {"negative": 400, "positive": 400}
    assert info["splits"]["test"]["label_distribution"] == {"negative": 497, "positive": 503}
    assert info["splits"]["test"]["mean_tokens"] > 100 > info["splits"]["train"]["mean_tokens"]  # reviews vs sentences
    test, train = load_split(tmp_path, "test"), load_split(tmp_path, "train")
    assert set(test.meta["domain"]) == {"imdb"} and set(train.meta["domain"]) == {"uci-amazon"}
    assert test.inputs[0].startswith("seriously , i do n't understand")
    assert np.all(np.diff(test.sample_ids) > 0)  # target in file (stream) order


def test_sst2_to_yelp_and_in_domain(shared_data, tmp_path):
    info = prepare_task("sentiment-shift", {"path": str(shared_data), "source": "sst2", "target": "yelp",
                                            "max_train": 300, "max_val": 100}, tmp_path / "a", seed=0)
    assert info["sizes"] == {"train": 300, "val": 100, "test": 1000}
    info = prepare_task("sentiment-shift", {"path": str(shared_data), "source": "mr", "target": "mr"},
                        tmp_path / "b", seed=0)
    assert info["sizes"] == {"train": 560, "val": 140, "test": 300}
    ids = [set(load_split(tmp_path / "b", s).sample_ids.tolist()) for s in ("train", "val", "test")]
    assert not (ids[0] & ids[2]) and not (ids[1] & ids[2])


def test_unknown_domain_and_missing_file(shared_data, tmp_path):
    with pytest.raises(ConfigError, match="option 'target': got 'twitter', expected one of 'uci-amazon'"):
        prepare_task("sentiment-shift", {"path": str(shared_data), "target": "twitter"}, tmp_path, seed=0)
    with pytest.raises(DataError, match="imdb.tsv': file not found"):
        prepare_task("sentiment-shift", {"path": str(shared_data / "glue"), "source": "imdb"}, tmp_path, seed=0)
