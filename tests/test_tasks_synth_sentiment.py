"""`synth-sentiment`: the generator's labels follow its grammar exactly, with a recorded difficulty."""

import numpy as np
import pytest

from eebench.errors import ConfigError
from eebench.tasks import load_split, prepare_task
from eebench.tasks.synth_sentiment import generate_sentence, grammar_label
from eebench.tasks.splitting import rng_for

SMALL = {"train_size": 200, "val_size": 40, "test_size": 60}


@pytest.mark.parametrize(
    "sentence, label",
    [
        ("the plot was good", 1),
        ("the plot was dull", 0),
        ("last night , the cast was very dull in the second half", 0),
        ("the ending wasn't clever", 0),
        ("the ending never felt tedious", 1),
        ("it is not true that the plot was good", 0),
        ("it is not true that the film was not charming", 1),
        ("the acting was great , but the story was boring", 0),
        ("the acting was not great , but the story did not feel boring", 1),
        ("the acting was terrible , but it was so moving", 1),
    ],
)
def test_grammar_label_on_hand_written_sentences(sentence, label):
    assert grammar_label(sentence) == label


@pytest.mark.parametrize("difficulty", range(4))
def test_generated_sentences_have_the_requested_label(difficulty):
    rng = rng_for(0, "test")
    for i in range(200):
        sentence, _ = generate_sentence(rng, difficulty, i % 2)
        assert grammar_label(sentence) == i % 2, sentence
        assert len(sentence.split()) <= 20


def test_constructions_match_difficulty():
    rng = rng_for(1, "test")
    plain, _ = generate_sentence(rng, 0, 1)
    assert len(plain.split()) <= 5 and "not" not in plain
    negated, _ = generate_sentence(rng, 2, 1)
    assert sum(t in ("not", "never", "isn't", "wasn't") for t in negated.split()) == 1
    kinds = {generate_sentence(rng, 3, 0)[1] for _ in range(50)}
    assert kinds == {"contrast", "double-negation"}


def test_round_trip_sizes_difficulty_and_balance(tmp_path):
    info = prepare_task("synth-sentiment", SMALL, tmp_path, seed=0)
    assert (info["modality"], info["n_classes"], info["label_names"]) == ("text", 2, ["negative", "positive"])
    seen = set()
    for split, size in (("train", 200), ("val", 40), ("test", 60)):
        data = load_split(tmp_path, split)
        assert len(data.inputs) == size == info["sizes"][split]
        assert data.labels.dtype == np.int64
        assert [grammar_label(t) for t in data.inputs] == data.labels.tolist()
        assert np.bincount(data.meta["difficulty"]).tolist() == [size // 4] * 4
        assert np.bincount(data.labels).tolist() == [size // 2] * 2
        assert info["splits"][split]["meta_distribution"]["difficulty"] == {str(d): size // 4 for d in range(4)}
        assert 3 < info["splits"][split]["mean_tokens"] < 20
        assert not seen & set(data.inputs)  # no sentence in two splits
        seen |= set(data.inputs)


def test_defaults_and_determinism(tmp_path):
    info = prepare_task("synth-sentiment", {}, tmp_path / "a", seed=5)
    assert info["sizes"] == {"train": 2000, "val": 400, "test": 600}
    prepare_task("synth-sentiment", {}, tmp_path / "b", seed=5)
    prepare_task("synth-sentiment", {}, tmp_path / "c", seed=6)
    for name in ("train.jsonl", "val.jsonl", "test.jsonl", "info.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert (tmp_path / "a" / "test.jsonl").read_bytes() != (tmp_path / "c" / "test.jsonl").read_bytes()


def test_difficulty_weights_option(tmp_path):
    prepare_task("synth-sentiment", {**SMALL, "difficulty_weights": [0, 0, 1, 3]}, tmp_path, seed=0)
    assert np.bincount(load_split(tmp_path, "test").meta["difficulty"], minlength=4).tolist() == [0, 0, 15, 45]


def test_too_many_plain_sentences_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="distinct sentences of difficulty 0"):
        prepare_task("synth-sentiment", {"train_size": 5000, "difficulty_weights": [1, 0, 0, 0]}, tmp_path, 0)
