"""Test domains keep the order the config gives them, end to end: Snakemake's prepare params (eebench.config.
options_json), the prepared test split and info.json. The domains are named against the alphabet on purpose."""

from __future__ import annotations

import json

import yaml
from hypothesis import given
from hypothesis import strategies as st

from eebench.config import options_json
from test_workflow import TINY, snakemake

DOMAINS = ["yelp", "imdb", "amazon"]  # config order, not alphabetical


def test_options_json_sorts_the_options_and_keeps_the_test_domains_in_config_order():
    options = {"train": "s.tsv", "test": {name: f"{name}.tsv" for name in DOMAINS}, "format": "tsv"}
    decoded = json.loads(options_json(options))
    assert list(decoded) == ["format", "test", "train"]  # where an option is written does not change the params
    assert list(decoded["test"]) == DOMAINS


names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=8)
values = st.recursive(st.none() | st.booleans() | st.integers() | names,
                      lambda inner: st.lists(inner, max_size=3) | st.dictionaries(names, inner, max_size=3),
                      max_leaves=8)


@given(st.dictionaries(names, values, max_size=6), st.randoms())
def test_options_json_ignores_option_order_and_keeps_everything_inside(options, random):
    shuffled = list(options.items())
    random.shuffle(shuffled)
    text = options_json(options)
    assert text == options_json(dict(shuffled))  # deterministic params, whatever the option order
    decoded = json.loads(text)
    assert decoded == options
    assert all(json.dumps(decoded[key]) == json.dumps(options[key]) for key in options)  # nested order as given


def test_snakemake_prepares_the_test_domains_in_config_order(tmp_path):
    data = tmp_path / "text"
    data.mkdir()
    (data / "source.tsv").write_text("text\tlabel\n" + "".join(f"s{i}\t{i % 2}\n" for i in range(600)))  # val: 60, enough for the tolerance
    for name in DOMAINS:
        (data / f"{name}.tsv").write_text("text\tlabel\n" + "".join(f"{name}{i}\t{i % 2}\n" for i in range(4)))
    config = {
        **TINY,
        "seeds": [0],
        "experiments": [{"task": "text-classification", "backbones": ["bert-small"], "strategies": ["joint"]}],
        "tasks": {"text-classification": {"train": "text/source.tsv",
                                          "test": {name: f"text/{name}.tsv" for name in DOMAINS}}},
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    snakemake(tmp_path, "my results/data/text-classification")  # the prepare rule only
    prepared = tmp_path / "my results" / "data" / "text-classification"
    test = [json.loads(line) for line in (prepared / "test.jsonl").read_text().splitlines()]
    assert list(dict.fromkeys(r["domain"] for r in test)) == DOMAINS
    info = json.loads((prepared / "info.json").read_text())
    assert list(info["options"]["test"]) == DOMAINS
    assert list(info["splits"]["test"]["meta_distribution"]["domain"]) == DOMAINS
