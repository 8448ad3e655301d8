"""`uci-sentiment`: the shipped UCI sentences (attribution beside them), their splits and the shifted test domain."""

import hashlib
import re

import pytest

from eebench.errors import ConfigError
from eebench.tasks import load_split, prepare_task
from eebench.tasks.uci_sentiment import FILES, data_folder


def test_shipped_files_are_the_documented_ones():
    readme = (data_folder() / "README.md").read_text()
    assert "Kotzias" in readme and "CC BY 4.0" in readme
    for name in FILES.values():
        content = (data_folder() / name).read_bytes()
        assert hashlib.sha256(content).hexdigest() in readme  # unchanged copies, as the README says
        labels = [line.rsplit(b"\t", 1)[1].strip() for line in content.splitlines() if line.strip()]
        assert labels.count(b"0") == 500 and labels.count(b"1") == 500


def test_default_splits_train_on_amazon_and_yelp_and_test_in_domain_then_imdb(tmp_path):
    info = prepare_task("uci-sentiment", {}, tmp_path, 0)
    assert info["sizes"] == {"train": 1280, "val": 320, "test": 1400}
    assert info["label_names"] == ["negative", "positive"]
    test = load_split(tmp_path, "test")
    domains = test.meta["domain"].tolist()
    assert domains[:400].count("imdb") == 0 and domains[400:] == ["imdb"] * 1000  # the shift comes mid-stream
    assert info["splits"]["test"]["meta_distribution"]["domain"] == {"amazon": 200, "imdb": 1000, "yelp": 200}
    seen = set(load_split(tmp_path, "train").sample_ids) | set(load_split(tmp_path, "val").sample_ids)
    assert not seen & set(test.sample_ids)  # no test sentence is trained on
    assert all(re.fullmatch(r"(amazon_cells|imdb|yelp)_labelled\.txt:\d+", str(i)) for i in test.sample_ids)
    first = test.inputs[0]
    assert first == first.strip() and "\t" not in first


def test_a_domain_may_not_be_both_trained_and_shifted(tmp_path):
    with pytest.raises(ConfigError, match="option 'test_domains': 'imdb' is a train domain too"):
        prepare_task("uci-sentiment", {"train_domains": ["imdb"], "test_domains": ["imdb"]}, tmp_path, 0)
    with pytest.raises(ConfigError, match="option 'train_domains'.*amazon, imdb, yelp"):
        prepare_task("uci-sentiment", {"train_domains": ["twitter"]}, tmp_path, 0)
