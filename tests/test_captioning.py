"""The captioning track: metrics on hand-checked cases, COCO's Karpathy layout, the offline shapes task, exits
recorded during greedy decoding vs teacher forcing, real token-level early exit vs the simulation, training
(heads-only freezes the backbone; resume), and policies fitted by CIDEr."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from eebench.captioning import data, policy_eval, scoring
from eebench.errors import ConfigError, DataError

needs_java = pytest.mark.skipif(shutil.which("java") is None, reason="pycocoevalcap's PTB tokenizer needs Java")


# ---------------------------------------------------------------------------------------------------------------
# Metrics, computed by hand.
#
# Two images, references with no word in common between the images, candidate = the reference (3 words).
# CIDEr-D: per n, cosine of TF-IDF vectors (clipped, Gaussian length penalty exp(0) = 1) = 1 for n = 1..3; a
# 3-word caption has no 4-grams, so n = 4 contributes 0. CIDEr-D = 10 * mean_n = 10 * 3/4 = 7.5 per image.
# BLEU-1: every unigram matches and lengths are equal (no brevity penalty) -> 1. Disjoint candidates: 0 matches.
REFERENCES = {0: ["a red circle"], 1: ["two blue squares"]}


@needs_java
def test_coco_metrics_identical_and_disjoint_captions():
    same = scoring.caption_metrics(REFERENCES, {0: "a red circle", 1: "two blue squares"})
    assert same["cider"] == pytest.approx(7.5)
    assert same["bleu1"] == pytest.approx(1.0, abs=1e-6)
    assert same["rouge_l"] == pytest.approx(1.0)
    assert same["meteor"] == pytest.approx(1.0, abs=1e-3)
    assert same["spice"] is None and "SPICE" in same["spice_missing"]  # missing, never 0
    without_meteor = scoring.caption_metrics(REFERENCES, {0: "a red circle", 1: "two blue squares"}, meteor=False)
    assert without_meteor["meteor"] is None and without_meteor["cider"] == pytest.approx(7.5)  # missing, not 0
    disjoint = scoring.caption_metrics(REFERENCES, {0: "green triangles", 1: "yellow stars"})
    assert disjoint["cider"] == pytest.approx(0.0)
    assert disjoint["bleu1"] == pytest.approx(0.0, abs=1e-6)


def test_python_tokenized_cider_matches_hand_computation():
    rows = [{0: "a red circle", 1: "two blue squares"}, {0: "green triangles", 1: "two blue squares"}]
    cider = scoring.cider_rows(REFERENCES, rows)
    assert cider[0] == pytest.approx(7.5)
    assert cider[1] == pytest.approx(7.5 / 2)  # one image right (7.5), one wrong (0)
    assert scoring.simple_tokenize("A red circle, on the LEFT.") == "a red circle on the left"


def test_missing_java_is_one_clear_error(monkeypatch):
    monkeypatch.setattr(scoring.shutil, "which", lambda name: None)
    with pytest.raises(Exception, match="apt-get install -y default-jre-headless"):
        scoring.require_java()


# ---------------------------------------------------------------------------------------------------------------
# Tasks.


def write_karpathy_folder(root, image_size=20):
    from PIL import Image

    entries = []
    for index, (folder, split) in enumerate([("train2014", "train"), ("val2014", "restval"), ("val2014", "val"),
                                              ("val2014", "test")]):
        name = f"COCO_{folder}_{index:012d}.jpg"
        (root / folder).mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (image_size, image_size), (index * 40, 10, 10)).save(root / folder / name)
        entries.append({"filepath": folder, "filename": name, "imgid": index, "split": split, "cocoid": 100 + index,
                        "sentences": [{"raw": f"A photo number {index} .", "tokens": []},
                                      {"raw": f"Picture {index}", "tokens": []}]})
    (root / "dataset_coco.json").write_text(json.dumps({"images": entries, "dataset": "coco"}))


def test_coco_karpathy_layout(tmp_path):
    root = tmp_path / "coco"
    write_karpathy_folder(root)
    data.prepare_captions("coco-captions", {"path": str(root)}, tmp_path / "prepared", seed=0)
    train, val, test = (data.read_split(tmp_path / "prepared", s) for s in ("train", "val", "test"))
    assert [r["image_id"] for r in train] == ["100", "101"]  # restval joins train
    assert [r["image_id"] for r in val] == ["102"] and [r["image_id"] for r in test] == ["103"]
    assert test[0]["captions"] == ["A photo number 3 .", "Picture 3"]
    assert data.load_image(test[0]["image"]).size == (20, 20)
    info = json.loads((tmp_path / "prepared" / "info.json").read_text())
    assert info["sizes"] == {"train": 2, "val": 1, "test": 1} and info["references_per_image"]["test"] == 2


def test_coco_errors_name_the_file(tmp_path):
    with pytest.raises(DataError, match="dataset_coco.json"):
        data.prepare_captions("coco-captions", {"path": str(tmp_path)}, tmp_path / "out", seed=0)
    root = tmp_path / "coco"
    write_karpathy_folder(root)
    (root / "val2014" / "COCO_val2014_000000000003.jpg").unlink()
    with pytest.raises(DataError, match="COCO_val2014_000000000003.jpg"):
        data.prepare_captions("coco-captions", {"path": str(root)}, tmp_path / "out", seed=0)
    assert not (tmp_path / "out").exists()  # nothing half-written
    with pytest.raises(ConfigError, match="option 'bogus': unknown option; allowed options: source, path"):
        data.prepare_captions("coco-captions", {"bogus": 1}, tmp_path / "out", seed=0)


def test_shapes_task_is_deterministic_with_varied_references(tmp_path):
    options = {"train_size": 30, "val_size": 5, "test_size": 5, "max_groups": 3, "references": 3}
    data.prepare_captions("shapes-captions", options, tmp_path / "a", seed=3)
    data.prepare_captions("shapes-captions", options, tmp_path / "b", seed=3)
    for split in ("train", "val", "test"):
        assert (tmp_path / "a" / f"{split}.jsonl").read_bytes() == (tmp_path / "b" / f"{split}.jsonl").read_bytes()
    rows = data.read_split(tmp_path / "a", "train")
    assert all(len(set(r["captions"])) == 3 for r in rows)
    by_difficulty = {}
    for row in rows:
        by_difficulty.setdefault(row["difficulty"], []).append(np.mean([len(c.split()) for c in row["captions"]]))
    lengths = [np.mean(by_difficulty[d]) for d in sorted(by_difficulty)]
    assert len(lengths) >= 2 and lengths == sorted(lengths)  # more groups, longer captions


# ---------------------------------------------------------------------------------------------------------------
# Model, decoding and real early exit (a tiny random captioner).


@pytest.fixture
def tiny(one_thread):
    import torch

    from eebench.captioning import model, options as captioning_options

    torch.manual_seed(0)
    options = captioning_options.backbone_options("caption-small", {"image_size": 16, "hidden_size": 32, "decoder_layers": 3,
                                                       "max_length": 8})
    captioner, tokenizer = model.build("caption-small", options, ["a red circle", "two blue squares on the left"])
    return captioner.eval(), tokenizer, torch.randn(3, 3, 16, 16)


def test_recorded_exits_equal_teacher_forced_exits(tiny):
    import torch

    from eebench.captioning.decode import record_exits

    captioner, tokenizer, pixels = tiny
    recorded = record_exits(captioner, pixels, tokenizer.bos_id, tokenizer.eos_id, captioner.max_length)
    for index, (tokens, logits) in enumerate(recorded):
        assert logits.shape == (len(tokens), 3, len(tokenizer))
        assert np.array_equal(tokens, logits[:, -1].argmax(-1))  # the label is the full model's token
        inputs = torch.tensor([[tokenizer.bos_id] + tokens[:-1].tolist()])
        with torch.no_grad():
            forced = captioner(pixels[index : index + 1], inputs)[0].numpy()
        np.testing.assert_allclose(logits, forced, atol=1e-5)


def test_real_early_exit_matches_simulation_until_first_early_exit(tiny):
    from eebench.captioning.decode import compare_with_simulation, early_exit_decode, record_exits
    from eebench.policies import make_policy, simulate

    captioner, tokenizer, pixels = tiny
    recorded = record_exits(captioner, pixels, tokenizer.bos_id, tokenizer.eos_id, captioner.max_length)
    full = [early_exit_decode(captioner, pixels[i : i + 1], None, tokenizer.bos_id, tokenizer.eos_id,
                              captioner.max_length) for i in range(3)]
    for (tokens, _), (real_tokens, real_layers, _) in zip(recorded, full):
        assert np.array_equal(tokens, real_tokens) and set(real_layers) == {3}
    policy = make_policy("maxprob", threshold=0.0)  # always exits at layer 1
    real = [early_exit_decode(captioner, pixels[i : i + 1], policy, tokenizer.bos_id, tokenizer.eos_id,
                              captioner.max_length) for i in range(3)]
    simulated = [simulate(policy, logits, tokens) for tokens, logits in recorded]
    for (real_tokens, real_layers, _), (sim_layers, sim_tokens) in zip(real, simulated):
        assert set(real_layers) == {1}
        assert real_tokens[0] == sim_tokens[0]  # same context up to the first early exit
    agreement = compare_with_simulation([r[0] for r in real], [r[1] for r in real], [s[1] for s in simulated],
                                        [s[0] for s in simulated], n_exits=3)
    assert agreement["match_until_first_early_exit"] == 1.0


def test_skipped_layers_get_keys_and_values_from_the_exited_state(tiny):
    import torch

    from eebench.captioning.decode import DecoderPass

    captioner, tokenizer, pixels = tiny
    run = DecoderPass(captioner, pixels[:1])
    hidden = captioner.blocks[0](run.embed(torch.tensor([tokenizer.bos_id]), 0), run.cache, None,
                                 run.encoder_states, use_cache=True)
    hidden = hidden[0] if isinstance(hidden, tuple) else hidden
    run.copy_up(1, hidden)
    cache = run.cache.self_attention_cache
    assert [cache.layers[k].keys.shape[2] for k in range(3)] == [1, 1, 1]
    block = captioner.blocks[2]
    keys = block.attn.c_attn(block.ln_1(hidden)).split(block.attn.split_size, dim=2)[1]
    np.testing.assert_allclose(cache.layers[2].keys[0, :, 0].reshape(-1).detach().numpy(),
                               keys[0, 0].detach().numpy(), atol=1e-6)


# ---------------------------------------------------------------------------------------------------------------
# Training.


@pytest.fixture(scope="module")
def shapes_data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("shapes") / "data"
    data.prepare_captions("shapes-captions", {"train_size": 24, "val_size": 6, "test_size": 6, "image_size": 16},
                          folder, seed=0)
    return folder


SMALL = {"image_size": 16, "hidden_size": 32, "decoder_layers": 3, "max_length": 26}


@pytest.mark.slow
def test_heads_only_freezes_the_fine_tuned_captioner(shapes_data, tmp_path, one_thread):
    from safetensors.torch import load_file

    from eebench.captioning.train import train_captioner

    training = {"epochs": 1, "batch_size": 24}
    train_captioner(shapes_data, tmp_path / "a", "caption-small", SMALL, "heads-only",
                    {"backbone_epochs": 1, "head_epochs": 1}, training, 0)
    train_captioner(shapes_data, tmp_path / "b", "caption-small", SMALL, "heads-only",
                    {"backbone_epochs": 1, "head_epochs": 2}, training, 0)
    a, b = (load_file(str(tmp_path / x / "model.safetensors")) for x in "ab")
    changed = {name for name in a if not np.array_equal(a[name].numpy(), b[name].numpy())}
    assert changed and all(name.startswith("heads.") for name in changed)  # phase 2 trains the heads only
    log = [json.loads(line) for line in (tmp_path / "b" / "train_log.jsonl").read_text().splitlines()]
    assert [entry["phase"] for entry in log] == ["final"] * 3 + ["heads"] * 6
    assert log[-1]["exit_losses"][-1] is None and None not in log[-1]["exit_losses"][:-1]


@pytest.mark.slow
def test_training_resumes_from_its_checkpoint(shapes_data, tmp_path, monkeypatch, one_thread):
    from safetensors.torch import load_file

    from eebench.captioning import train

    args = (shapes_data, "caption-small", SMALL, "joint-kl", {}, {"epochs": 2, "batch_size": 24,
                                                                   "checkpoint_every": 2}, 0)
    train.train_captioner(args[0], tmp_path / "whole", *args[1:])
    saved = train.save_checkpoint

    def save_then_die(*a, **k):
        saved(*a, **k)
        raise KeyboardInterrupt

    monkeypatch.setattr(train, "save_checkpoint", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        train.train_captioner(args[0], tmp_path / "resumed", *args[1:])
    monkeypatch.setattr(train, "save_checkpoint", saved)
    train.train_captioner(args[0], tmp_path / "resumed", *args[1:])
    whole, resumed = (load_file(str(tmp_path / x / "model.safetensors")) for x in ("whole", "resumed"))
    for name in whole:
        np.testing.assert_array_equal(whole[name].numpy(), resumed[name].numpy())
    assert not (tmp_path / "resumed.checkpoints").exists()


# ---------------------------------------------------------------------------------------------------------------
# Policies on cached token exits, fitted by CIDEr.

WORDS = ["<eos>", "a", "red", "circle", "two", "blue", "squares", "green"]


def token_exits(layer_tokens):
    """Exits whose layer l predicts layer_tokens[t][l] with confidence growing with depth."""
    n_tokens, n_exits = len(layer_tokens), len(layer_tokens[0])
    logits = np.zeros((n_tokens, n_exits, len(WORDS)), dtype=np.float32)
    for t, row in enumerate(layer_tokens):
        for layer, token in enumerate(row):
            logits[t, layer, token] = 1.0 + layer
    labels = np.array([row[-1] for row in layer_tokens])
    sample_ids = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    return {"logits": logits, "labels": labels, "sample_ids": sample_ids, "positions": np.arange(8) % 4,
            "eos_id": np.int64(0)}


def test_static_exit_fitted_by_cider_and_captions_cut_at_eos():
    # Full model: "a red circle <eos>", "two blue squares <eos>". Exit 1 says "green" for "red"; exits 2, 3 are right.
    exits = token_exits([[1, 1, 1], [7, 2, 2], [3, 3, 3], [0, 0, 0], [4, 4, 4], [5, 5, 5], [6, 6, 6], [0, 0, 0]])
    judge = policy_eval.CaptionJudge(exits, [["a red circle"], ["two blue squares"]],
                                     lambda ids: " ".join(WORDS[i] for i in ids))
    assert judge.full_cider() == pytest.approx(7.5)
    exit1 = policy_eval.captions_at(exits, judge.tokens(np.ones(8, dtype=int)), 2, judge.decode)[0]
    assert exit1 == {0: "a green circle", 1: "two blue squares"}
    policy = policy_eval.fit_policy("static-k", {}, exits, judge, None, tolerance=0.0)
    assert policy.layer_ == 2  # the earliest exit with the full model's CIDEr
    early_eos = np.array([[1, 0, 3, 0, 4, 5, 6, 0]])  # an early exit says <eos> at the second token
    assert policy_eval.captions_at(exits, early_eos, 2, judge.decode)[0] == {0: "a", 1: "two blue squares"}
    result = policy_eval.outcome(policy, exits, judge, None, full_metrics=False)
    assert result["layer_speedup"] == pytest.approx(1.5) and result["token_agreement"] == 1.0


def test_oracle_against_the_full_model_token():
    exits = token_exits([[1, 1, 1], [7, 2, 2], [3, 3, 3], [0, 0, 0], [4, 4, 4], [5, 5, 5], [6, 6, 6], [0, 0, 0]])
    judge = policy_eval.CaptionJudge(exits, [["a red circle"], ["two blue squares"]],
                                     lambda ids: " ".join(WORDS[i] for i in ids))
    oracle = policy_eval.fit_policy("oracle", {}, exits, judge, None, tolerance=0.0)
    result = policy_eval.outcome(oracle, exits, judge, None, full_metrics=False)
    assert result["exit_layer_histogram"] == [7, 1, 0] and result["metrics"]["cider"] == pytest.approx(7.5)


def test_every_captioning_policy_fits_and_runs_on_token_exits():
    """Each per-token policy of the catalogue fits on cached token exits and gives an exit per token; those whose
    knob is chosen by CIDEr keep the full model's CIDEr at tolerance 0 (on the split they were fitted on)."""
    from eebench import catalogue

    exits = token_exits([[1, 1, 1], [7, 2, 2], [3, 3, 3], [0, 0, 0], [4, 4, 4], [5, 5, 5], [6, 6, 6], [0, 0, 0]])
    judge = policy_eval.CaptionJudge(exits, [["a red circle"], ["two blue squares"]],
                                     lambda ids: " ".join(WORDS[i] for i in ids))
    own_fitting = {"risk-control", "patience-confidence", "ucb"}  # fitted on tokens (or online), not by CIDEr
    policies = catalogue.components("captioning-policy")
    assert "lte" not in policies and {"final", "maxprob", "patience", "beem-a", "oracle"} <= set(policies)
    for name in policies:
        policy = policy_eval.fit_policy(name, {}, exits, judge, None, tolerance=0.0)
        result = policy_eval.outcome(policy, exits, judge, None, full_metrics=False)
        assert sum(result["exit_layer_histogram"]) == 8, name
        if name not in own_fitting:
            assert result["metrics"]["cider"] == pytest.approx(7.5), name
