"""Exit pooling by checkpoint: `pool: auto` (the default) reads sentence-transformers checkpoints by their token mean,
as they were trained, and everything else by [CLS]; an explicit `pool` wins."""

import json

import pytest

from eebench.models.pretrained import MINILM_PACKAGE, Source, checkpoint_pooling, resolve_source
from eebench.models.registry import build_model

TEXTS = ["a fine film", "a dull film"]


def sentence_transformers_folder(tmp_path, **modes):
    tmp_path.mkdir()
    (tmp_path / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    ]))
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps(modes))
    return Source(str(tmp_path), local=True)


def test_pooling_follows_the_checkpoints_pooling_module(tmp_path):
    assert checkpoint_pooling(resolve_source(MINILM_PACKAGE, "test")) == "mean"  # all-MiniLM-L6-v2
    mean = sentence_transformers_folder(tmp_path / "m", pooling_mode_mean_tokens=True, pooling_mode_cls_token=False)
    cls = sentence_transformers_folder(tmp_path / "c", pooling_mode_mean_tokens=False, pooling_mode_cls_token=True)
    assert checkpoint_pooling(mean) == "mean" and checkpoint_pooling(cls) == "cls"
    (tmp_path / "plain").mkdir()  # a BERT checkpoint folder: no modules.json
    assert checkpoint_pooling(Source(str(tmp_path / "plain"), local=True)) == "cls"


@pytest.mark.parametrize(
    "backbone, options, expected",
    [("minilm-l6", {}, "mean"), ("minilm-l6", {"pool": "cls"}, "cls"), ("bert-small", {}, "cls")],
)
def test_default_pooling_is_resolved_and_recorded(backbone, options, expected):
    bundle = build_model(backbone, options, 2, "text", TEXTS, max_length=16)
    assert bundle.record["options"]["pool"] == expected
    assert bundle.model.adapter.pooling == expected
