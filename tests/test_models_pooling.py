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


def test_mean_pooled_exits_of_a_padded_batch_equal_each_sample_alone():
    """A padded batch pools over its real tokens (masked mean); a sample alone has no padding and takes the plain
    mean. Both must give the same exits, and the inference heads (plain weights) the training heads' logits."""
    import numpy as np
    import torch

    texts = ["a fine film", "a dull and very long film about nothing at all"]
    bundle = build_model("bert-small", {"n_layers": 2, "hidden_size": 32, "n_heads": 2, "intermediate_size": 64,
                                        "pool": "mean"}, 2, "text", texts, max_length=16)
    model, encoded = bundle.model.eval(), bundle.encoder.encode(texts)
    with torch.inference_mode():
        together = model(encoded.batch(np.arange(2))).logits
        alone = torch.cat([model(encoded.batch(np.array([i]))).logits for i in range(2)])
        hidden, ctx = model.embed(encoded.batch(np.arange(2)))
        hidden = model.layer(1, hidden, ctx)
        inference = model.exit_logits_for_call()(1, hidden, ctx)
    assert ctx.token_mask is not None  # the batch is padded
    torch.testing.assert_close(together, alone, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(inference, together[:, 0], atol=1e-6, rtol=1e-6)
