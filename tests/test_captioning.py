"""What is genuinely captioning, tested on its own: CIDEr-D and the COCO metrics on hand-worked cases, the bound
`cider` sequence metric (captions cut at end-of-caption, per-image scores, caching), COCO's Karpathy layout and the
offline shapes task, exits recorded during greedy decoding vs teacher forcing, real token-level early exit vs the
simulation (copied-up keys/values), training (joint-kl and heads-only logs, heads-only freezes the captioner,
resume), the token exits and per-token costs of `predict-run`, and policies fitted by CIDEr-D through the ordinary
policy cell (`eebench.policies.stages.policy_cell_stage`)."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from eebench.captioning import data, scoring
from eebench.captioning.scoring import CaptionMetric
from eebench.errors import ConfigError, DataError
from eebench.tasks import prepare_task

needs_java = pytest.mark.skipif(shutil.which("java") is None, reason="pycocoevalcap's PTB tokenizer needs Java")


# ---------------------------------------------------------------------------------------------------------------
# CIDEr-D and the COCO metrics, computed by hand.
#
# Two images, references with no word in common between the images, candidate = the reference (3 words).
# CIDEr-D: per n, the cosine of the candidate's and the reference's TF-IDF n-gram vectors (clipped, Gaussian length
# penalty exp(0) = 1) is 1 for n = 1..3; a 3-word caption has no 4-grams, so n = 4 contributes 0:
# CIDEr-D = 10 * mean_n = 10 * 3/4 = 7.5 per image. "a green circle" against "a red circle": every n-gram has the
# same IDF (log 2: each occurs in one image's references out of two), so the unigram cosine is 2/3 ("a", "circle"
# shared) and no bigram or trigram is shared: 10 * (2/3) / 4 = 5/3. Disjoint captions: 0.
# BLEU-1: every unigram matches and lengths are equal (no brevity penalty) -> 1. Disjoint candidates: 0 matches.
REFERENCES = {0: ["a red circle"], 1: ["two blue squares"]}
SAME = {0: "a red circle", 1: "two blue squares"}


def test_python_tokenized_cider_matches_hand_computation():
    split = scoring.SplitCider([REFERENCES[0], REFERENCES[1]])
    assert split.scores(["a red circle", "two blue squares"]).tolist() == pytest.approx([7.5, 7.5])
    assert split.scores(["green triangles", "two blue squares"]).tolist() == pytest.approx([0.0, 7.5])
    assert split.scores(["a green circle", "two blue squares"]).tolist() == pytest.approx([5 / 3, 7.5])
    # a fresh scorer, and the captions in another order, give the same per-image scores (nothing stale is reused)
    assert scoring.SplitCider([REFERENCES[0], REFERENCES[1]]).scores(
        ["a green circle", "green triangles"]).tolist() == pytest.approx([5 / 3, 0.0])
    assert scoring.simple_tokenize("A red circle, on the LEFT.") == "a red circle on the left"


@needs_java
def test_coco_metrics_identical_and_disjoint_captions():
    same = scoring.caption_metrics(REFERENCES, SAME, meteor=False)
    assert same["cider"] == pytest.approx(7.5)
    assert same["bleu1"] == pytest.approx(1.0, abs=1e-6)
    assert same["rouge_l"] == pytest.approx(1.0)
    assert same["meteor"] is None and "turned off" in same["meteor_missing"]  # missing, never 0
    assert same["spice"] is None and "SPICE" in same["spice_missing"]
    disjoint = scoring.caption_metrics(REFERENCES, {0: "green triangles", 1: "yellow stars"}, meteor=False)
    assert disjoint["cider"] == pytest.approx(0.0)
    assert disjoint["bleu1"] == pytest.approx(0.0, abs=1e-6)


def test_without_java_the_protocol_metrics_are_null_with_the_reason(monkeypatch):
    monkeypatch.setattr(scoring.shutil, "which", lambda name: None)
    scores = scoring.caption_metrics(REFERENCES, SAME)
    assert set(scores) >= {"bleu1", "bleu4", "meteor", "rouge_l", "cider", "spice"}
    assert all(scores[name] is None for name in scoring.PROTOCOL_METRICS)  # missing, never 0
    assert "apt-get install -y default-jre-headless" in scores["protocol_missing"]


# ---------------------------------------------------------------------------------------------------------------
# The bound sequence metric: token predictions -> captions per image -> CIDEr-D.

VOCAB = ["<pad>", "<bos>", "<eos>", "<unk>", "a", "red", "circle", "two", "blue", "squares", "green", "small"]
EOS = VOCAB.index("<eos>")


def ids(text: str) -> np.ndarray:
    return np.array([VOCAB.index(word) for word in text.split()])


def decode(token_ids) -> str:
    return " ".join(VOCAB[i] for i in token_ids if VOCAB[i] not in ("<pad>", "<bos>", "<eos>"))


def test_captions_are_cut_at_each_images_first_end_of_caption_token():
    sample_ids = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2]
    metric = CaptionMetric(sample_ids, EOS, [["a red circle"], ["two blue squares"], ["a small circle"]], decode)
    full = ids("a red circle <eos> two blue squares <eos> a small")  # image 2 hit max_length: no <eos>
    assert metric.captions(full) == {0: "a red circle", 1: "two blue squares", 2: "a small"}
    # an early exit says <eos> at image 0's second token: what follows it in image 0 is dropped (a later <eos>
    # too), image 1 is untouched, and an <eos> at image 1's first token gives it an empty caption
    assert metric.captions(ids("a <eos> circle <eos> two blue squares <eos> a small")) == \
        {0: "a", 1: "two blue squares", 2: "a small"}
    assert metric.captions(ids("a red circle <eos> <eos> blue squares <eos> <eos> small")) == \
        {0: "a red circle", 1: "", 2: ""}


def test_per_image_scores_average_to_pycocoevalcaps_corpus_cider():
    from pycocoevalcap.cider.cider import Cider

    references = [["a red circle", "a red circle on the left"], ["two blue squares"],
                  ["a small circle", "one small red circle"]]
    sample_ids = np.repeat([0, 1, 2], 4)
    metric = CaptionMetric(sample_ids, EOS, references, decode)
    preds = ids("a red circle <eos> two green squares <eos> a small circle <eos>")
    per_image = metric.image_scores(preds)[0]
    gts = {k: refs for k, refs in enumerate(references)}
    res = {k: [caption] for k, caption in metric.captions(preds).items()}
    corpus, scores = Cider().compute_score(gts, res)  # IDF from the three images' references together
    assert per_image.shape == (3,) and per_image == pytest.approx(np.asarray(scores))
    assert per_image.mean() == pytest.approx(corpus)
    assert metric.compute_rows(None, preds[None])["cider"] == pytest.approx([corpus])
    # hand-worked (module comment): the exact caption scores 7.5, "a green circle" against "a red circle" 5/3
    two = CaptionMetric(np.repeat([0, 1], 4), EOS, [["a red circle"], ["two blue squares"]], decode)
    assert two.image_scores(ids("a green circle <eos> two blue squares <eos>"))[0] == pytest.approx([5 / 3, 7.5])


def test_caching_does_not_change_results():
    references = [["a red circle"], ["two blue squares"]]
    rows = np.array([ids("a red circle <eos> two blue squares <eos>"),
                     ids("a green circle <eos> two blue <eos> <eos>"),
                     ids("a red circle <eos> two blue squares <eos>"),
                     ids("<eos> red circle <eos> two blue squares <eos>")])
    sample_ids = np.repeat([0, 1], 4)
    cached = CaptionMetric(sample_ids, EOS, references, decode)
    batch = cached.image_scores(rows)
    again = cached.image_scores(rows[::-1])[::-1]  # every row now comes from the cache
    fresh = np.stack([CaptionMetric(sample_ids, EOS, references, decode).image_scores(row)[0] for row in rows])
    np.testing.assert_array_equal(batch, fresh)
    np.testing.assert_array_equal(again, fresh)
    assert batch[0] == pytest.approx([7.5, 7.5]) and batch[3][0] == 0.0  # an empty caption scores 0


def test_task_metric_functions_take_the_bound_metric_and_refuse_the_bare_name():
    from eebench.metrics import task_metrics

    metric = CaptionMetric(np.repeat([0, 1], 4), EOS, [["a red circle"], ["two blue squares"]], decode)
    preds = np.array(ids("a red circle <eos> two blue squares <eos>"))
    assert task_metrics.check_metric(metric) == "cider" and task_metrics.metric_name(metric) == "cider"
    assert task_metrics.primary(metric, preds, preds) == pytest.approx(7.5)
    assert task_metrics.compute(metric, preds, preds) == {"cider": pytest.approx(7.5)}
    assert task_metrics.primary_rows(metric, preds, np.stack([preds, np.full(8, EOS)])) == pytest.approx([7.5, 0.0])
    with pytest.raises(ConfigError, match="metric 'cider' scores sequences: it needs the split's references"):
        task_metrics.check_metric("cider")
    with pytest.raises(ValueError, match="token exits name images up to 2, but the split has 2 images"):
        CaptionMetric([0, 1, 2], EOS, [["a"], ["b"]], decode)


# ---------------------------------------------------------------------------------------------------------------
# Tasks, prepared through the ordinary `prepare` stage (`eebench.tasks.prepare_task`).


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
    prepare_task("coco-captions", {"path": str(root), "meteor": False}, tmp_path / "prepared", seed=0)
    train, val, test = (data.read_split(tmp_path / "prepared", s) for s in ("train", "val", "test"))
    assert [r["image_id"] for r in train] == ["100", "101"]  # restval joins train
    assert [r["image_id"] for r in val] == ["102"] and [r["image_id"] for r in test] == ["103"]
    assert test[0]["captions"] == ["A photo number 3 .", "Picture 3"]
    assert data.load_image(test[0]["image"]).size == (20, 20)
    info = json.loads((tmp_path / "prepared" / "info.json").read_text())
    assert info["sizes"] == {"train": 2, "val": 1, "test": 1} and info["references_per_image"]["test"] == 2
    assert info["metric"] == "cider" and info["options"]["meteor"] is False  # what the policy cells read


def test_coco_errors_name_the_file_and_leave_nothing_behind(tmp_path):
    with pytest.raises(DataError, match="dataset_coco.json"):
        prepare_task("coco-captions", {"path": str(tmp_path)}, tmp_path / "out", seed=0)
    root = tmp_path / "coco"
    write_karpathy_folder(root)
    (root / "val2014" / "COCO_val2014_000000000003.jpg").unlink()
    with pytest.raises(DataError, match="COCO_val2014_000000000003.jpg"):
        prepare_task("coco-captions", {"path": str(root)}, tmp_path / "out", seed=0)
    assert not (tmp_path / "out").exists()  # nothing half-written
    with pytest.raises(ConfigError, match="option 'bogus': unknown option; allowed options: source, path"):
        prepare_task("coco-captions", {"bogus": 1}, tmp_path / "out", seed=0)
    with pytest.raises(ConfigError, match="option 'path': required"):
        prepare_task("coco-captions", {}, tmp_path / "out", seed=0)


def test_shapes_task_is_deterministic_with_varied_references(tmp_path):
    options = {"train_size": 30, "val_size": 5, "test_size": 5, "max_groups": 3, "references": 3}
    prepare_task("shapes-captions", options, tmp_path / "a", seed=3)
    prepare_task("shapes-captions", options, tmp_path / "b", seed=3)
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

    from eebench import catalogue
    from eebench.captioning import model

    torch.manual_seed(0)
    options = catalogue.get("backbone", "caption-small").check(
        {"image_size": 16, "hidden_size": 32, "decoder_layers": 3, "max_length": 8})
    captioner, tokenizer = model.build(options, ["a red circle", "two blue squares on the left"])
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
        assert np.array_equal(tokens, real_tokens) and set(real_layers) == {3}  # no policy: the full model exactly
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


def test_compare_with_simulation_counts_a_mismatch_before_the_first_early_exit():
    from eebench.captioning.decode import compare_with_simulation

    sim_tokens, sim_layers = [np.array([5, 6, 2])], [np.array([3, 1, 3])]  # first early exit at the 2nd token
    same = compare_with_simulation(sim_tokens, sim_layers, sim_tokens, sim_layers, n_exits=3)
    assert same == {"captions": 1, "match_until_first_early_exit": 1.0, "diverge_after_first_early_exit": 0.0}
    after = compare_with_simulation([np.array([5, 6, 7, 2])], [np.array([3, 1, 3, 3])], sim_tokens, sim_layers, 3)
    assert after["match_until_first_early_exit"] == 1.0 and after["diverge_after_first_early_exit"] == 1.0
    before = compare_with_simulation([np.array([5, 7, 2])], [np.array([3, 1, 3])], sim_tokens, sim_layers, 3)
    assert before["match_until_first_early_exit"] == 0.0


def test_skipped_layers_get_keys_and_values_from_the_exited_state(tiny):
    import torch

    from eebench.captioning.decode import DecoderPass

    captioner, tokenizer, pixels = tiny
    run = DecoderPass(captioner, pixels[:1])
    hidden = run.block(1, run.embed(torch.tensor([tokenizer.bos_id]), 0))
    run.copy_up(1, hidden)
    cache = run.cache.self_attention_cache
    assert [cache.layers[k].keys.shape[2] for k in range(3)] == [1, 1, 1]  # every layer has this position
    for layer in (2, 3):  # blocks 2 and 3 did not run: their keys/values come from block 1's output
        block = captioner.blocks[layer - 1]
        _, keys, values = block.attn.c_attn(block.ln_1(hidden)).split(block.attn.split_size, dim=2)
        np.testing.assert_allclose(cache.layers[layer - 1].keys[0, :, 0].reshape(-1).detach().numpy(),
                                   keys[0, 0].detach().numpy(), atol=1e-6)
        np.testing.assert_allclose(cache.layers[layer - 1].values[0, :, 0].reshape(-1).detach().numpy(),
                                   values[0, 0].detach().numpy(), atol=1e-6)


# ---------------------------------------------------------------------------------------------------------------
# Training through the ordinary `train` stage (`eebench.training.run.train_run` hands a captioner to
# eebench.captioning.train), and the `predict-run` stage's token exits and costs. One tiny joint-kl model is
# trained once for the module.

SMALL = {"image_size": 16, "hidden_size": 32, "decoder_layers": 3, "encoder_layers": 1, "max_length": 26}
TRAINING = {"epochs": 1, "batch_size": 24, "lr": 0.001}


@pytest.fixture(scope="module")
def shapes_data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("shapes") / "data"
    prepare_task("shapes-captions", {"train_size": 24, "val_size": 6, "test_size": 6, "image_size": 16,
                                     "meteor": False}, folder, seed=0)
    return folder


def read_log(model_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (model_dir / "train_log.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def trained(shapes_data, tmp_path_factory):
    """A joint-kl captioner trained by the `train` stage, and the `predict-run` stage's outputs for it."""
    import torch

    from eebench.inference.predict import predict_run
    from eebench.training.run import train_run

    threads, grad = torch.get_num_threads(), torch.is_grad_enabled()
    folder = tmp_path_factory.mktemp("trained")
    train_run(shapes_data, folder / "model", "caption-small", SMALL, "joint-kl", {}, {**TRAINING, "epochs": 2}, 0)
    predict_run(folder / "model", shapes_data, folder / "val.npz", folder / "test.npz", folder / "costs.json")
    # both stages set process-wide torch state (one thread; predict turns autograd off), harmless in the one-process
    # stages of the workflow; restored here for the tests that train after this fixture in the same process
    torch.set_num_threads(threads)
    torch.set_grad_enabled(grad)
    return folder


def test_joint_kl_logs_every_exits_loss(trained):
    log = read_log(trained / "model")
    assert [entry["phase"] for entry in log] == ["all"] * 6  # 72 (image, reference) pairs, batches of 24, 2 epochs
    assert all(len(entry["loss_per_exit"]) == 3 and None not in entry["loss_per_exit"] for entry in log)
    assert all(np.isfinite(entry["loss"]) for entry in log)
    meta = json.loads((trained / "model" / "eebench_captioner.json").read_text())
    assert meta["backbone"] == "caption-small" and meta["strategy"] == "joint-kl"


def test_predicted_token_exits_follow_the_contract(trained, shapes_data):
    from eebench.exits import load_exit_outputs

    rows = data.read_split(shapes_data, "test")
    outputs = load_exit_outputs(trained / "test.npz")
    vocabulary = len(json.loads((trained / "model" / "vocab.json").read_text()))
    assert outputs.logits.shape[1:] == (3, vocabulary) and outputs.logits.dtype == np.float32
    np.testing.assert_array_equal(outputs.labels, outputs.logits[:, -1].argmax(-1))  # the full model's token
    eos = int(outputs.extras["eos_id"])
    starts = np.flatnonzero(outputs.extras["positions"] == 0)
    assert outputs.sample_ids[starts].tolist() == list(range(len(rows)))  # every image, contiguous, in order
    for image, (start, end) in enumerate(zip(starts, [*starts[1:], len(outputs.labels)])):
        assert (outputs.sample_ids[start:end] == image).all()
        np.testing.assert_array_equal(outputs.extras["positions"][start:end], np.arange(end - start))
        tokens = outputs.labels[start:end]
        assert (tokens[-1] == eos or end - start == SMALL["max_length"]) and eos not in tokens[:-1]
    costs = json.loads((trained / "costs.json").read_text())
    assert costs["unit"] == "token" and costs["per_sample"] is True and costs["n_exits"] == 3
    assert np.all(np.diff(costs["flops"]) > 0)  # cumulative decoder FLOPs per token


@pytest.mark.slow
def test_heads_only_freezes_the_fine_tuned_captioner(shapes_data, tmp_path, one_thread):
    from safetensors.torch import load_file

    from eebench.training.run import train_run

    train_run(shapes_data, tmp_path / "a", "caption-small", SMALL, "heads-only",
              {"backbone_epochs": 1, "head_epochs": 1}, TRAINING, 0)
    train_run(shapes_data, tmp_path / "b", "caption-small", SMALL, "heads-only",
              {"backbone_epochs": 1, "head_epochs": 2}, TRAINING, 0)
    a, b = (load_file(str(tmp_path / x / "model.safetensors")) for x in "ab")
    changed = {name for name in a if not np.array_equal(a[name].numpy(), b[name].numpy())}
    assert changed and all(name.startswith("heads.") for name in changed)  # phase 2 trains the heads only
    log = read_log(tmp_path / "b")
    assert [entry["phase"] for entry in log] == ["final"] * 3 + ["heads"] * 6
    final, heads = log[0]["loss_per_exit"], log[-1]["loss_per_exit"]
    assert final[:-1] == [None, None] and final[-1] is not None  # phase 1: the captioner's own LM loss
    assert heads[-1] is None and None not in heads[:-1]  # phase 2: exits 1..L-1 only


@pytest.mark.slow
def test_training_resumes_from_its_checkpoint(shapes_data, tmp_path, monkeypatch, one_thread):
    from safetensors.torch import load_file

    from eebench.captioning import train
    from eebench.training.run import train_run

    args = (shapes_data, "caption-small", SMALL, "joint-kl", {}, {**TRAINING, "epochs": 2, "checkpoint_every": 2},
            0)
    train_run(args[0], tmp_path / "whole", *args[1:])
    saved = train.save_checkpoint

    def save_then_die(*a, **k):
        saved(*a, **k)
        raise KeyboardInterrupt

    monkeypatch.setattr(train, "save_checkpoint", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        train_run(args[0], tmp_path / "resumed", *args[1:])
    monkeypatch.setattr(train, "save_checkpoint", saved)
    train_run(args[0], tmp_path / "resumed", *args[1:])
    whole, resumed = (load_file(str(tmp_path / x / "model.safetensors")) for x in ("whole", "resumed"))
    for name in whole:
        np.testing.assert_array_equal(whole[name].numpy(), resumed[name].numpy())
    assert read_log(tmp_path / "whole") == read_log(tmp_path / "resumed")
    assert not (tmp_path / "resumed.checkpoints").exists()


def test_heads_only_with_shared_exits_is_refused_by_the_train_stage(shapes_data, tmp_path):
    from eebench.training.run import train_run

    with pytest.raises(ConfigError, match="strategy 'heads-only' with backbone 'caption-small' option exit_heads "
                                          "'shared'"):
        train_run(shapes_data, tmp_path / "m", "caption-small", {**SMALL, "exit_heads": "shared"}, "heads-only", {},
                  TRAINING, 0)
    assert not (tmp_path / "m").exists()


# ---------------------------------------------------------------------------------------------------------------
# Policies fitted by CIDEr-D through the ordinary policy cell, on hand-made token exits.
#
# Full model: "a red circle <eos>", "two blue squares <eos>" (8 tokens, 3 exits). Exit 1 says "green" for "red";
# exits 2 and 3 are right. Each exit's confidence grows with depth.

FULL_MODEL = ["a", "red", "circle", "<eos>", "two", "blue", "squares", "<eos>"]
EXIT_1 = ["a", "green", "circle", "<eos>", "two", "blue", "squares", "<eos>"]
CELL_FIELDS = {"policy", "params", "fitted", "metric", "primary", "metrics", "layer_speedup", "flops_speedup",
               "mean_exit_layer", "exit_histogram", "n_samples", "samples"}
CURVE_COLUMNS = ["policy", "knob", "knob_value", "metric", "primary", "layer_speedup", "flops_speedup",
                 "mean_exit_layer"]


def token_exits(layer_words: list[list[str]]) -> dict:
    n_tokens, n_exits = len(layer_words[0]), len(layer_words)
    logits = np.zeros((n_tokens, n_exits, len(VOCAB)), dtype=np.float32)
    for layer, words in enumerate(layer_words):
        for t, word in enumerate(words):
            logits[t, layer, VOCAB.index(word)] = 1.0 + layer
    labels = logits[:, -1].argmax(-1)
    return {"logits": logits, "labels": labels, "sample_ids": np.repeat([0, 1], 4),
            "positions": np.tile(np.arange(4), 2), "eos_id": np.int64(EOS)}


@pytest.fixture
def cell(tmp_path):
    """A caption run's files as the pipeline lays them out: the task's prepared folder (references, info.json
    with meteor off), the model folder (tokenizer), token exits of val and test, costs.json."""
    from eebench.captioning.text import MODEL_INFO, VOCAB_FILE

    data_dir, model_dir = tmp_path / "data", tmp_path / "model"
    data_dir.mkdir()
    model_dir.mkdir()
    for split in ("val", "test"):
        (data_dir / f"{split}.jsonl").write_text("".join(
            json.dumps({"image_id": str(i), "image": f"images/{i}.png", "captions": [caption]}) + "\n"
            for i, caption in enumerate(["a red circle", "two blue squares"])))
        np.savez(tmp_path / f"{split}.npz", **token_exits([EXIT_1, FULL_MODEL, FULL_MODEL]))
    (data_dir / "info.json").write_text(json.dumps({"task": "shapes-captions", "metric": "cider",
                                                    "options": {"meteor": False}}))
    (model_dir / VOCAB_FILE).write_text(json.dumps(VOCAB))
    (model_dir / MODEL_INFO).write_text(json.dumps({"backbone": "caption-small", "options": {}}))
    (tmp_path / "costs.json").write_text(json.dumps({"flops": [10.0, 20.0, 30.0], "n_exits": 3, "per_sample": True,
                                                     "unit": "token"}))
    return tmp_path


def run_cell(cell: Path, policy: str, tolerance: float = 0.0, params: dict | None = None, **paths):
    from eebench.policies.stages import policy_cell_stage

    out = cell / "policies" / policy
    policy_cell_stage(cell / "val.npz", cell / "test.npz", cell / "costs.json", policy, params or {}, "cider",
                      tolerance, 5, out / "fit.json", out / "test.json", out / "curve.csv",
                      data=paths.get("data", cell / "data"), model=paths.get("model", cell / "model"))
    with open(out / "curve.csv") as fh:
        curve = list(csv.DictReader(fh))
    return json.loads((out / "fit.json").read_text()), json.loads((out / "test.json").read_text()), curve


def test_static_exit_fitted_by_cider_writes_the_contracts_files(cell):
    fit, test, curve = run_cell(cell, "static-k")
    assert fit["fitted"]["layer_"] == 2  # the earliest exit with the full model's CIDEr-D (exit 1 loses 7.5 - 5/3)
    assert fit["val"]["metric"] == "cider" and fit["val"]["primary"] == pytest.approx(7.5)
    assert CELL_FIELDS <= set(test) and test["metric"] == "cider"
    assert test["primary"] == pytest.approx(7.5) and test["metrics"]["cider"] == pytest.approx(7.5)
    assert test["layer_speedup"] == pytest.approx(1.5) and test["flops_speedup"] == pytest.approx(1.5)
    assert test["mean_exit_layer"] == 2 and test["exit_histogram"] == [0, 8, 0] and test["n_samples"] == 8
    samples = test["samples"]
    assert samples["exit_layer"] == [2] * 8 and samples["sample_id"] == [0, 0, 0, 0, 1, 1, 1, 1]
    assert samples["prediction"] == samples["label"] == [VOCAB.index(w) for w in FULL_MODEL]
    assert samples["image_scores"] == pytest.approx([7.5, 7.5])  # one per image, in image order
    assert [list(row) for row in curve][0] == CURVE_COLUMNS
    assert {row["metric"] for row in curve} == {"cider"}
    by_layer = {int(row["knob_value"]): row for row in curve}
    assert float(by_layer[1]["primary"]) == pytest.approx((5 / 3 + 7.5) / 2)  # exit 1's "a green circle"
    assert float(by_layer[1]["layer_speedup"]) == pytest.approx(3.0)
    assert float(by_layer[3]["primary"]) == pytest.approx(7.5)


@needs_java
def test_test_json_holds_the_coco_protocol_metrics_and_says_why_meteor_is_missing(cell):
    _, test, _ = run_cell(cell, "final")
    metrics = test["metrics"]
    assert {"bleu1", "bleu2", "bleu3", "bleu4", "rouge_l", "cider_ptb", "meteor", "spice"} <= set(metrics)
    assert metrics["bleu1"] == pytest.approx(1.0, abs=1e-6) and metrics["rouge_l"] == pytest.approx(1.0)
    assert metrics["cider_ptb"] == pytest.approx(7.5) and metrics["cider"] == pytest.approx(7.5)
    assert metrics["meteor"] is None and "meteor: false" in metrics["meteor_missing"]  # the task's option
    assert metrics["spice"] is None or "spice_missing" not in metrics


def test_oracle_against_the_full_model_token_and_its_limit(cell):
    _, test, _ = run_cell(cell, "oracle", tolerance=0.0)
    assert test["exit_histogram"] == [7, 1, 0] and test["primary"] == pytest.approx(7.5)
    limit = test["least_depth_within_tolerance"]
    assert limit["metric"] == "cider" and limit["tolerance"] == 0.0
    assert limit["primary"] == pytest.approx(7.5) and limit["exit_histogram"] == [7, 1, 0]
    assert limit["samples"]["sample_id"] == test["samples"]["sample_id"]
    assert limit["samples"]["image_scores"] == pytest.approx([7.5, 7.5])


def test_captions_of_a_cell_are_cut_at_an_early_end_of_caption(cell):
    # exit 1 says <eos> at the second token of image 0: a policy leaving there captions image 0 "a"
    early_eos = ["a", "<eos>", "circle", "<eos>", "two", "blue", "squares", "<eos>"]
    np.savez(cell / "test.npz", **token_exits([early_eos, FULL_MODEL, FULL_MODEL]))
    _, test, _ = run_cell(cell, "static-k", params={"layer": 1})
    metric = CaptionMetric(np.repeat([0, 1], 4), EOS, [["a red circle"], ["two blue squares"]], decode)
    only_a = metric.image_scores(ids("a <eos> <eos> <eos> two blue squares <eos>"))[0]
    assert test["samples"]["image_scores"] == pytest.approx(only_a) and only_a[0] < 7.5 and only_a[1] == 7.5


def test_every_policy_fits_and_runs_on_token_exits(cell, monkeypatch):
    """Each policy of the catalogue that needs no extra model output fits on token exits by CIDEr-D and gives an
    exit per token; those whose knob is chosen by the metric keep the full model's CIDEr-D at tolerance 0 (on the
    split they were fitted on)."""
    from eebench import catalogue

    monkeypatch.setattr(scoring.shutil, "which", lambda name: None)  # the COCO protocol metrics: null, no Java
    own_fitting = {"risk-control", "patience-confidence", "ucb", "pcee", "pcee-ws"}  # not chosen by CIDEr-D
    policies = {name for name, c in catalogue.components("policy").items() if not c.facts["needs_outputs"]}
    assert "lte" not in policies and {"final", "static-k", "maxprob", "patience", "beem-a", "oracle"} <= policies
    for name in sorted(policies):
        _, test, curve = run_cell(cell, name)
        assert sum(test["exit_histogram"]) == 8 and len(test["samples"]["exit_layer"]) == 8, name
        assert len(test["samples"]["image_scores"]) == 2 and curve, name
        assert test["metrics"]["bleu1"] is None and "Java" in test["metrics"]["protocol_missing"], name
        if name not in own_fitting:
            assert test["primary"] == pytest.approx(7.5), name


def test_cider_cell_without_data_or_model_is_one_clear_error(cell, capsys):
    from eebench.cli import main

    for missing in ("data", "model"):
        with pytest.raises(ConfigError) as error:
            run_cell(cell, "maxprob", **{missing: None})
        message = str(error.value)
        assert "\n" not in message and "val.npz" in message and "--data" in message and "--model" in message
        assert not (cell / "policies" / "maxprob" / "fit.json").exists()
    argv = ["policy-cell", "--val", str(cell / "val.npz"), "--test", str(cell / "test.npz"), "--policy", "maxprob",
            "--metric", "cider", "--fit-out", str(cell / "f.json"), "--test-out", str(cell / "t.json"),
            "--curve-out", str(cell / "c.csv"), "--model", str(cell / "model")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1 and "--data" in errors[0] and "Traceback" not in err
    assert not any((cell / name).exists() for name in ("f.json", "t.json", "c.csv"))


def test_token_exits_of_a_classifier_run_are_refused_for_cider(cell):
    np.savez(cell / "val.npz", logits=np.zeros((8, 3, len(VOCAB)), dtype=np.float32), labels=np.zeros(8, int),
             sample_ids=np.arange(8))
    with pytest.raises(DataError, match=r"val\.npz': missing field 'eos_id'"):
        run_cell(cell, "maxprob")


def test_a_cell_through_the_cli_on_the_trained_models_exits(trained, shapes_data, capsys):
    """The `policy-cell` command the rule runs, on real token exits: the image count and tokens agree."""
    from eebench.cli import main

    out = trained / "cli-cell"
    argv = ["policy-cell", "--val", str(trained / "val.npz"), "--test", str(trained / "test.npz"), "--costs",
            str(trained / "costs.json"), "--policy", "maxprob", "--metric", "cider", "--tolerance", "0.5",
            "--points", "4", "--data", str(shapes_data), "--model", str(trained / "model"),
            "--fit-out", str(out / "fit.json"), "--test-out", str(out / "test.json"), "--curve-out",
            str(out / "curve.csv")]
    assert main(argv) == 0, capsys.readouterr().err
    test = json.loads((out / "test.json").read_text())
    n_tokens = int(np.load(trained / "test.npz")["labels"].shape[0])
    assert test["n_samples"] == n_tokens == len(test["samples"]["sample_id"])
    assert len(test["samples"]["image_scores"]) == len(data.read_split(shapes_data, "test"))
    assert np.mean(test["samples"]["image_scores"]) == pytest.approx(test["primary"])
