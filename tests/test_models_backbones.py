"""Backbone registry, adapters and model folders: every family builds, runs layer by layer exactly like the
all-exit forward pass, and survives a save/load round trip."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from eebench.errors import ConfigError
from eebench.models import BACKBONES, build_model, load_model, write_model_dir
from eebench.models.backbones import IMAGE, BackboneSpec, backbone_options, register_backbone

TINY = {"n_layers": 2, "hidden_size": 32, "n_heads": 2, "intermediate_size": 64}
TEXTS = ["a truly good film", "not bad at all", "terrible", "the plot was fine but the acting was not great"]
PAIRS = [("a man plays", "someone is playing"), ("it rains", "the sun shines")]
DIGITS = (np.arange(6 * 8 * 8).reshape(6, 8, 8) % 17).astype(np.uint8)
MNIST_LIKE = (np.arange(4 * 28 * 28).reshape(4, 28, 28) % 256).astype(np.uint8)


def layer_by_layer(model, batch) -> torch.Tensor:
    hidden, ctx = model.embed(batch)
    outputs = []
    for index in range(1, model.n_exits + 1):
        hidden = model.layer(index, hidden, ctx)
        outputs.append(model.exit_head(index, hidden, ctx))
    return torch.stack(outputs, dim=1)


@pytest.mark.parametrize(
    "name, options, modality, inputs",
    [
        ("mlp", {}, "image", DIGITS),
        ("cnn", {}, "image", DIGITS),
        ("cnn", {"n_layers": 3}, "image", MNIST_LIKE),
        ("b-lenet", {}, "image", MNIST_LIKE),
        ("b-lenet", {}, "image", DIGITS),
        ("vit-small", TINY, "image", DIGITS),
        ("vit-small", TINY, "image", MNIST_LIKE),
        ("bert-tiny", {"n_layers": 2}, "text", TEXTS),
        ("bert-small", TINY, "text-pair", PAIRS),
        ("roberta-small", TINY, "text", TEXTS),
        ("distilbert-small", TINY, "text", TEXTS),
        ("albert-small", {**TINY, "exit_head": "pooler-linear"}, "text-pair", PAIRS),
    ],
)
def test_layer_by_layer_equals_forward_and_round_trips(tmp_path, name, options, modality, inputs):
    torch.manual_seed(0)
    bundle = build_model(name, options, 3, modality, inputs, max_length=16)
    model = bundle.model.eval()
    batch = bundle.encoder.encode(inputs).batch(range(len(inputs)))
    with torch.no_grad():
        logits = model(batch).logits
        assert logits.shape == (len(inputs), model.n_exits, 3)
        torch.testing.assert_close(layer_by_layer(model, batch), logits, rtol=1e-5, atol=1e-5)

    write_model_dir(bundle, tmp_path / "model")
    loaded = load_model(tmp_path / "model")
    assert loaded.record["backbone"] == name and loaded.record["n_exits"] == model.n_exits
    with torch.no_grad():
        reloaded = loaded.model(loaded.encoder.encode(inputs).batch(range(len(inputs)))).logits
    assert torch.equal(reloaded, logits)


def test_padding_does_not_change_a_sentences_logits():
    torch.manual_seed(0)
    bundle = build_model("bert-small", TINY, 2, "text", TEXTS)
    model = bundle.model.eval()
    encoded = bundle.encoder.encode(TEXTS)
    with torch.no_grad():
        alone = model(encoded.batch([1])).logits  # short sentence, no padding
        padded = model(encoded.batch([1, 3])).logits[:1]  # padded to the long sentence's length
    torch.testing.assert_close(alone, padded, rtol=1e-5, atol=1e-5)


def test_albert_shares_one_layer_across_its_exits():
    bundle = build_model("albert-small", {**TINY, "n_layers": 4}, 2, "text", TEXTS)
    assert bundle.model.n_exits == 4
    assert len(bundle.model.adapter.model.encoder.albert_layer_groups) == 1


@pytest.mark.parametrize("lte_heads,n_heads", [("shared", 1), ("per-exit", 2), (True, 2)])
def test_lte_heads_score_every_exit(lte_heads, n_heads):
    bundle = build_model("distilbert-small", TINY, 2, "text", TEXTS, lte_heads=lte_heads)
    out = bundle.model.eval()(bundle.encoder.encode(TEXTS).batch(range(4)))
    assert out.lte_scores.shape == (4, 2) and bool(((out.lte_scores > 0) & (out.lte_scores < 1)).all())
    assert len(bundle.model.lte) == n_heads  # BERxiT's code: one LTE classifier for all layers


def test_minilm_l6_loads_the_packaged_pretrained_weights():
    from transformers import AutoModel

    from eebench.models.pretrained import MINILM_PACKAGE, resolve_source

    bundle = build_model("minilm-l6", {}, 2, "text", TEXTS)
    assert bundle.model.n_exits == 6 and bundle.record["hf_config"]["hidden_size"] == 384
    source = resolve_source(MINILM_PACKAGE, "test")
    assert source.local
    reference = AutoModel.from_pretrained(source.location, local_files_only=True).eval()
    batch = bundle.encoder.encode(TEXTS).batch(range(4))
    with torch.no_grad():
        hidden, ctx = bundle.model.eval().embed(batch)
        for index in range(1, 7):
            hidden = bundle.model.layer(index, hidden, ctx)
        expected = reference(**batch).last_hidden_state
    torch.testing.assert_close(hidden, expected, rtol=1e-4, atol=1e-4)


def test_pretrained_option_takes_a_local_folder(tmp_path):
    from transformers import AutoConfig, AutoModel

    from eebench.models.pretrained import MINILM_PACKAGE, load_tokenizer, resolve_source

    config = AutoConfig.for_model("roberta", vocab_size=30522, hidden_size=32, num_hidden_layers=3,
                                  num_attention_heads=2, intermediate_size=64, max_position_embeddings=520)
    AutoModel.from_config(config).save_pretrained(tmp_path / "ckpt")
    load_tokenizer(resolve_source(MINILM_PACKAGE, "test")).save_pretrained(tmp_path / "ckpt")
    bundle = build_model("roberta-base", {"pretrained": str(tmp_path / "ckpt")}, 2, "text", TEXTS)
    assert bundle.model.n_exits == 3 and bundle.record["hf_config"]["model_type"] == "roberta"


@pytest.mark.parametrize(
    "name, options, modality, message",
    [
        ("resnet", {}, "image", "valid backbones: mlp, cnn"),
        ("mlp", {"widht": 3}, "image",
         "option 'widht': unknown option; allowed options: hidden, n_layers, dropout, exit_head, head_dropout"),
        ("mlp", {"hidden": "big"}, "image", "option 'hidden': got 'big', expected an integer >= 1"),
        ("bert-small", {"exit_head": "mlp"}, "text", "got 'mlp', expected one of 'linear', 'pooler-linear'"),
        ("bert-small", {"pool": "max"}, "text", "got 'max', expected one of 'auto', 'cls', 'mean'"),
        ("mlp", {"pool": "mean"}, "image", "option 'pool': unknown option"),
        ("bert-small", {}, "image", "takes text or text-pair inputs"),
        ("bert-small", {"n_layers": 0}, "text", "option 'n_layers': got 0, expected an integer >= 1"),
        ("bert-small", {"hidden_size": 30, "n_heads": 4}, "text", "got 30, expected a multiple of n_heads"),
        ("mlp", {"dropout": float("nan")}, "image", "option 'dropout': got nan, expected a finite number"),
        ("b-lenet", {"dropout": 0.5}, "image", "option 'dropout': unknown option; allowed options: exit_head"),
        ("bert-base", {"pretrained": "./no/such/folder"}, "text", "looks like a local folder but does not exist"),
    ],
)
def test_bad_backbone_settings_are_one_clear_config_error(name, options, modality, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        build_model(name, options, 2, modality, DIGITS if modality == "image" else TEXTS)


def test_every_registered_backbone_has_valid_defaults():
    for name in BACKBONES:
        defaults = backbone_options(name, {})
        assert defaults["exit_heads" if "exit_heads" in defaults else "exit_head"] == "linear"  # captioners: heads


def test_a_small_backbone_of_an_unknown_family_is_refused_not_built_as_a_cnn():
    with pytest.raises(ValueError, match="family 'resnet' is not buildable"):
        register_backbone(BackboneSpec("tiny-resnet", "small", "resnet", IMAGE, {}))


def test_b_lenet_has_the_authors_layer_shapes():
    """kunglab/branchynet networks/lenet_mnist.py on 28×28, worked by hand: conv 5×5 pad 3 gives 30; a 2×2 pool that
    keeps the partial window gives 15, 9, 6 on the trunk (after convs giving 17 and 11) and 8 on the branch."""
    torch.manual_seed(0)
    bundle = build_model("b-lenet", {}, 10, "image", MNIST_LIKE)
    model, adapter = bundle.model.eval(), bundle.model.adapter
    assert model.n_exits == 2 and adapter.exit_sizes == (640, 84)
    shapes = {name: tuple(p.shape) for name, p in model.named_parameters() if name.endswith("weight")}
    assert shapes == {
        "adapter.conv1.weight": (5, 1, 5, 5),
        "adapter.trunk.2.weight": (10, 5, 5, 5), "adapter.trunk.5.weight": (20, 10, 5, 5),
        "adapter.trunk.9.weight": (84, 720),
        "adapter.branch.2.weight": (10, 5, 3, 3),
        "exits.0.classifier.weight": (10, 640), "exits.1.classifier.weight": (10, 84),
    }
    # 130 + 1,260 + 5,020 + 60,564 (trunk) + 460 (branch conv) + 6,410 + 850 (exit classifiers)
    assert sum(p.numel() for p in model.parameters()) == 74_694
    batch = bundle.encoder.encode(MNIST_LIKE[:1]).batch([0])
    with torch.no_grad():
        hidden, ctx = model.embed(batch)
        after_conv1 = model.layer(1, hidden, ctx)
        assert after_conv1.shape == (1, 5, 30, 30)
        assert adapter.pool(after_conv1, ctx).shape == (1, 640)
        trunk_maps = [tuple(t.shape) for t in _intermediates(adapter.trunk, after_conv1)]
        assert trunk_maps[:8] == [(1, 5, 15, 15), (1, 5, 15, 15), (1, 10, 17, 17), (1, 10, 9, 9), (1, 10, 9, 9),
                                  (1, 20, 11, 11), (1, 20, 6, 6), (1, 20, 6, 6)]
        assert model.layer(2, after_conv1, ctx).shape == (1, 84)
        assert model.exit_head(1, after_conv1, ctx).shape == (1, 10)


def _intermediates(sequential, x):
    outputs = []
    for module in sequential:
        x = module(x)
        outputs.append(x)
    return outputs


def test_b_lenet_costs_by_hand():
    """Multiply-accumulates per 28×28 image (FLOPs = 2 × MACs; pools and ReLUs are not counted):
    conv1 5·30·30·25 = 112,500; branch conv 10·15·15·45 = 101,250 and classifier 640·10 = 6,400 → exit 1 costs
    220,150. Trunk conv2 10·17·17·125 = 361,250, conv3 20·11·11·250 = 605,000, fc 720·84 = 60,480, final classifier
    840 → LeNet alone 1,140,070, B-LeNet to its final exit 1,140,070 + 107,650 (the branch) = 1,247,720."""
    from eebench.inference.costs import cumulative_flops, full_model_flops

    bundle = build_model("b-lenet", {}, 10, "image", MNIST_LIKE)
    batch = bundle.encoder.encode(MNIST_LIKE[:1]).batch([0])
    model = bundle.model.eval()
    assert cumulative_flops(model, batch).tolist() == [2 * 220_150, 2 * 1_247_720]
    assert full_model_flops(model, batch) == 2 * 1_140_070


def test_b_lenet_takes_per_exit_lte_heads_of_each_exits_width_but_no_shared_one():
    bundle = build_model("b-lenet", {}, 10, "image", MNIST_LIKE, lte_heads="per-exit")
    assert [head.in_features for head in bundle.model.lte] == [640, 84]
    with pytest.raises(ConfigError, match="exits read 640, 84 features; use lte_heads: per-exit"):
        build_model("b-lenet", {}, 10, "image", MNIST_LIKE, lte_heads="shared")
