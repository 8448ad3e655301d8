"""The aggregate on a caption task's cells (the contract of /work/notes/caption-contract.md, issue 27): the
leaderboard's paired bootstrap resamples images, not tokens (figures of a draw worked out by hand), the oracle's
least depth is labelled a reference for CIDEr-D and never stops the aggregate, tables and charts name CIDEr-D and
leave out metrics no run computed, the check stage runs on a caption data folder, the captioner's training log is
drawn, and BEEM's / CapEEN's captioning claims are judged on coco-captions and shown as references elsewhere."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from eebench.errors import DataError
from eebench.policies.checks import check_stage
from eebench.report.aggregate import (
    aggregate_task, cell_records, collect_samples, data_summary, display_frame, results_frame, summary_table,
    training_curves,
)
from eebench.report.leaderboard import (
    IMAGE_UNIT, LIMIT, RunMatrices, RunSamples, bootstrap, image_figures, leaderboard_markdown, runs_of,
    task_leaderboard,
)
from eebench.report.paper_claims import (
    FAILS, HOLDS, NOT_COMPARABLE, Measurements, TaskSetting, comparable, paper_comparison, task_setting,
)
from eebench.report.published import load_published

# ---- the image-level bootstrap, by hand ---------------------------------------------------------------------

# Two images: image 0 has 2 tokens, image 1 has 3; 4 exits.
SAMPLE_IDS = np.array([0, 0, 1, 1, 1])
HAND = {  # policy: (exit layer per token, score per image)
    "final": ([4, 4, 4, 4, 4], [1.0, 1.2]),
    "fast": ([1, 2, 4, 4, 4], [0.5, 1.5]),
}


def hand_run() -> RunSamples:
    labels = np.arange(5)
    return RunSamples(labels, 4, {p: np.array(e) for p, (e, _) in HAND.items()},
                      {p: labels for p in HAND}, SAMPLE_IDS, {p: np.array(s) for p, (_, s) in HAND.items()})


@pytest.mark.parametrize("draw, fast_metric, fast_speedup", [
    ([0, 0], 0.5, 4 * 4 / (3 + 3)),        # image 0 twice: 4 tokens, exit layers 1 + 2 twice → 2.67×
    ([0, 1], 1.0, 4 * 5 / (3 + 12)),       # both images: 5 tokens, layers 1 + 2 + 4 + 4 + 4 = 15 → 1.33×
    ([1, 1], 1.5, 1.0),                    # image 1 twice: every token at exit 4
    (None, 1.0, 4 / 3),                    # no draw: the test split itself, L / mean exit layer = 4 / (15 / 5)
])
def test_a_draw_of_images_gives_the_mean_image_score_and_the_token_speedup(draw, fast_metric, fast_speedup):
    matrices = RunMatrices.of(hand_run(), ["final", "fast", "absent"])
    speedups, metrics = matrices.figures("cider", None if draw is None else np.array(draw))
    assert speedups[1] == pytest.approx(fast_speedup) and metrics[1] == pytest.approx(fast_metric)
    final_scores = np.array(HAND["final"][1])[draw if draw is not None else [0, 1]]
    assert speedups[0] == pytest.approx(1.0) and metrics[0] == pytest.approx(final_scores.mean())
    assert np.isnan(speedups[2]) and np.isnan(metrics[2])  # a policy the run lacks


def test_image_figures_count_tokens_of_repeated_images_with_multiplicity():
    tokens = np.array([2.0, 3.0])
    depth_sums = np.array([[3.0, 12.0]])
    scores = np.array([[0.5, 1.5]])
    speedups, metrics = image_figures(4, tokens, depth_sums, scores, [0, 0, 0, 1])
    # 3 × 2 + 3 = 9 tokens, 3 × 3 + 12 = 21 layers; scores (0.5 × 3 + 1.5) / 4
    assert speedups[0] == pytest.approx(4 * 9 / 21) and metrics[0] == pytest.approx(0.75)


def test_the_bootstrap_draws_images_not_tokens_and_the_same_images_for_every_policy():
    matrices = RunMatrices.of(hand_run(), ["final", "fast"])
    speedups, metrics = bootstrap([matrices], "cider", resamples=50, seed=3)
    rng = np.random.default_rng(3)  # the bootstrap's draws, replayed: a run, then 2 images (not 5 tokens)
    for b in range(50):
        assert rng.integers(0, 1, 1).tolist() == [0]
        images = rng.integers(0, 2, 2)
        tokens = np.array([2, 3])[images].sum()
        fast_layers = np.array([3, 12])[images].sum()
        assert speedups[b, 0, 1] == pytest.approx(4 * tokens / fast_layers)
        assert metrics[b, 0, 1] == pytest.approx(np.array([0.5, 1.5])[images].mean())
        assert metrics[b, 0, 0] == pytest.approx(np.array([1.0, 1.2])[images].mean())
        assert speedups[b, 0, 0] == pytest.approx(1.0)


def test_runs_of_refuses_policies_on_other_images():
    base = {"label": np.arange(5), "n_exits": 4, "exit_layer": np.array([4] * 5), "prediction": np.arange(5),
            "sample_id": SAMPLE_IDS, "image_scores": np.array([1.0, 1.2])}
    other = {**base, "image_scores": np.array([1.0, 1.2, 0.3])}
    with pytest.raises(DataError, match="has 3 image_scores, the run's other policies 2"):
        runs_of({("b", "s", 0, "final"): base, ("b", "s", 0, "fast"): other}, 0.01)
    tokens = {**base, "sample_id": np.array([0, 1, 1, 1, 1])}
    with pytest.raises(DataError, match="other test tokens"):
        runs_of({("b", "s", 0, "final"): base, ("b", "s", 0, "fast"): tokens}, 0.01)
    plain = {k: v for k, v in base.items() if k not in ("sample_id", "image_scores")}
    with pytest.raises(DataError, match="lacks the samples' sample_id and image_scores"):
        runs_of({("b", "s", 0, "final"): base, ("b", "s", 0, "fast"): plain}, 0.01)


# ---- a caption task's results tree, written by hand to the contract ----------------------------------------

N_EXITS, VOCAB, N_IMAGES, TOLERANCE = 4, 12, 8, 0.15
BACKBONE, STRATEGY = "caption-tiny", "joint-kl"
POLICIES = ["final", "maxprob", "beem-c", "oracle"]
SECONDARY = {"bleu1": 0.7, "bleu2": 0.5, "bleu3": 0.4, "bleu4": 0.3, "meteor": None, "rouge_l": 0.6, "spice": None}


def token_exits(rng: np.random.Generator, n_images: int) -> dict[str, np.ndarray]:
    """Logits [T, L, V] of 2–4 tokens per image, deeper exits agreeing more often with the full model's token
    (labels = exit L's argmax, as the contract says)."""
    lengths = rng.integers(2, 5, n_images)
    ids = np.repeat(np.arange(n_images), lengths)
    tokens = rng.integers(0, VOCAB, len(ids))
    logits = rng.normal(0, 1, (len(ids), N_EXITS, VOCAB))
    for layer in range(N_EXITS):
        logits[np.arange(len(ids)), layer, tokens] += 1.0 + 1.5 * layer
    labels = logits[:, -1].argmax(axis=1)
    positions = np.concatenate([np.arange(n) for n in lengths])
    return {"logits": logits.astype(np.float32), "labels": labels, "sample_ids": ids, "positions": positions,
            "eos_id": np.array(0)}


def image_scores(exits: dict, exit_layers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A stand-in for CIDEr-D per image: 1.2 × the share of the image's tokens equal to the full model's."""
    predictions = exits["logits"][np.arange(len(exit_layers)), exit_layers - 1].argmax(axis=1)
    right = (predictions == exits["labels"]).astype(float)
    ids = exits["sample_ids"]
    scores = 1.2 * np.bincount(ids, weights=right) / np.bincount(ids)
    return predictions, scores


def outcome(exits: dict, exit_layers: np.ndarray) -> dict:
    """A test.json outcome record with the contract's fields."""
    predictions, scores = image_scores(exits, exit_layers)
    metrics = {"cider": float(scores.mean()), **SECONDARY, "meteor_missing": "metrics.meteor is false",
               "spice_missing": "SPICE's Stanford models are not installed"}
    return {
        "metric": "cider", "primary": float(scores.mean()), "metrics": metrics,
        "layer_speedup": N_EXITS / float(exit_layers.mean()), "flops_speedup": None,
        "mean_exit_layer": float(exit_layers.mean()),
        "exit_histogram": np.bincount(exit_layers, minlength=N_EXITS + 1)[1:].tolist(),
        "n_samples": len(exit_layers),
        "samples": {"exit_layer": exit_layers.tolist(), "prediction": predictions.tolist(),
                    "label": exits["labels"].tolist(), "sample_id": exits["sample_ids"].tolist(),
                    "image_scores": scores.tolist()},
    }


def decisions(exits: dict, policy: str, knob: float) -> np.ndarray:
    """Exit layers per token: a max-probability threshold (maxprob, beem-c as a stand-in), the earliest exit that
    agrees with the full model (oracle), or the final exit."""
    logits = exits["logits"]
    if policy == "final":
        return np.full(len(logits), N_EXITS)
    agree = logits.argmax(axis=2) == exits["labels"][:, None]
    if policy == "oracle":
        return agree.argmax(axis=1) + 1
    z = logits - logits.max(axis=2, keepdims=True)
    confident = (1 / np.exp(z).sum(axis=2)) >= knob
    confident[:, -1] = True
    return confident.argmax(axis=1) + 1


def write_caption_data(folder: Path, difficulty: bool = True, n_images: int = N_IMAGES) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    info = {"task": "shapes-captions", "kind": "captioning", "metric": "cider", "options": {},
            "sizes": {"train": 40, "val": n_images, "test": n_images},
            "references_per_image": {"train": 3.0, "val": 3.0, "test": 3.0},
            "caption_words": {"min": 3, "mean": 6.5, "max": 11}}
    (folder / "info.json").write_text(json.dumps(info))
    for split, n in (("train", 40), ("val", n_images), ("test", n_images)):
        rows = [{"image_id": f"{split}{i:04d}", "image": f"images/{split}{i:04d}.png", "captions": ["a red square"],
                 **({"difficulty": i % 3} if difficulty else {})} for i in range(n)]
        (folder / f"{split}.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    return folder


def write_run(results: Path, task: str, seed: int) -> Path:
    run = results / "runs" / task / BACKBONE / STRATEGY / f"seed{seed}"
    (run / "exits").mkdir(parents=True)
    rng = np.random.default_rng(seed)
    split_exits = {split: token_exits(rng, N_IMAGES) for split in ("val", "test")}
    for split, exits in split_exits.items():
        np.savez(run / "exits" / f"{split}.npz", **exits)
    test = split_exits["test"]
    for policy in POLICIES:
        cell = run / "policies" / policy
        cell.mkdir(parents=True)
        knob = {"maxprob": 0.4, "beem-c": 0.7}.get(policy, 0.0)
        record = {"id": policy, **outcome(test, decisions(test, policy, knob))}
        if policy == "oracle":
            # the limit, chosen token by token: here the final exit everywhere — slower than maxprob, which a
            # caption task allows (CIDEr-D is no sum over tokens), so the aggregate must not stop
            record["least_depth_within_tolerance"] = {"tolerance": TOLERANCE,
                                                      **outcome(test, decisions(test, "final", 0))}
        (cell / "test.json").write_text(json.dumps(record))
        knobs = {"maxprob": [0.3, 0.5, 0.7, 0.9], "beem-c": [0.4, 0.7, 0.95]}.get(policy, [0.0])
        rows = []
        for value in knobs:
            exit_layers = decisions(test, policy, value)
            figures = outcome(test, exit_layers)
            rows.append({"policy": policy, "knob": "threshold", "knob_value": value, "metric": "cider",
                         "primary": figures["primary"], "layer_speedup": figures["layer_speedup"],
                         "flops_speedup": "", "mean_exit_layer": figures["mean_exit_layer"]})
        pd.DataFrame(rows).to_csv(cell / "curve.csv", index=False)
    (run / "model").mkdir()
    log = [{"phase": phase, "step": step, "epoch": 0, "loss": 3.0 / step,
            "exit_losses": ([None] * (N_EXITS - 1) + [2.0 / step]) if phase == "final"
            else [3.0 / step + i for i in range(N_EXITS - 1)] + [None]}
           for phase in ("final", "heads") for step in range(1, 6)]
    (run / "model" / "train_log.jsonl").write_text("".join(json.dumps(line) + "\n" for line in log))
    return run


def caption_tree(results: Path, task: str = "shapes-captions", seeds=(0, 1)) -> list[Path]:
    data = write_caption_data(results / "data" / task)
    runs = [write_run(results, task, seed) for seed in seeds]
    for run in runs:
        check_stage(run / "exits" / "val.npz", run / "exits" / "test.npz", data, run / "checks.json")
    return runs


def aggregate(results: Path, runs: list[Path], task: str = "shapes-captions") -> None:
    aggregate_task(
        task=task, policies=POLICIES,
        test_paths=[run / "policies" / p / "test.json" for run in runs for p in POLICIES],
        curve_paths=[run / "policies" / p / "curve.csv" for run in runs for p in POLICIES],
        check_paths=[run / "checks.json" for run in runs], model_dirs=[run / "model" for run in runs],
        data_dir=results / "data" / task, out_dir=results, tolerance=TOLERANCE)


@pytest.fixture(scope="module")
def aggregated(tmp_path_factory) -> Path:
    results = tmp_path_factory.mktemp("captions")
    aggregate(results, caption_tree(results))
    return results


def test_the_leaderboard_resamples_images_and_labels_the_oracle_a_reference(aggregated):
    board = pd.read_csv(aggregated / "tables" / "shapes-captions_leaderboard.csv")
    assert set(board["resampled"]) == {IMAGE_UNIT} and not board["limit_bound"].any()
    assert LIMIT in set(board["policy"])
    # maxprob passes the oracle's least depth (the final exit here) within the tolerance: no error, and ranked
    fitted = board.set_index("policy")
    assert fitted.loc["maxprob", "speedup"] > fitted.loc[LIMIT, "speedup"] == pytest.approx(1.0)
    text = (aggregated / "tables" / "shapes-captions_leaderboard.md").read_text()
    assert "seeds and test images resampled" in text and "not a proven bound" in text
    assert "| reference (no bound) | oracle · least depth within tolerance" in text
    header = next(line for line in text.splitlines() if line.startswith("| rank"))
    assert "CIDEr-D" in header and "a reference, not a bound, since CIDEr-D is no sum over tokens" in text
    assert 0 < fitted.loc["maxprob", "drop"] <= TOLERANCE  # maxprob loses a little (seed 0) and stays within
    page = (aggregated / "tables" / "shapes-captions_leaderboard.html").read_text()
    assert page.count('<tr class="limit">') == 2  # the limit and the earliest-agreeing oracle


def test_tables_name_cider_and_leave_out_metrics_no_run_computed(aggregated):
    table = pd.read_csv(aggregated / "tables" / "shapes-captions.csv")
    assert list(table["policy"]) == ["final", "maxprob", "beem-c", "oracle", LIMIT]
    assert set(table["backbone"]) == {BACKBONE} and set(table["strategy"]) == {STRATEGY}
    assert "bleu4_mean" in table and table["spice_mean"].isna().all()
    assert not any(column.endswith("_missing_mean") for column in table.columns)
    markdown = (aggregated / "tables" / "shapes-captions.md").read_text()
    section = markdown.split("## Exit policies on test")[1].split("## Data")[0]
    header = section.strip().splitlines()[0]
    assert "CIDEr-D" in header and "BLEU-4" in header and "ROUGE-L" in header
    assert "SPICE" not in header and "METEOR" not in header and "runs/" not in section
    assert " ± " in section  # two seeds
    data = pd.read_csv(aggregated / "tables" / "shapes-captions_data.csv")
    assert list(data["split"]) == ["train", "val", "test"] and list(data["images"]) == [40, N_IMAGES, N_IMAGES]


def test_one_seed_prints_the_mean_alone(tmp_path):
    runs = caption_tree(tmp_path, seeds=(0,))
    records = cell_records([run / "policies" / p / "test.json" for run in runs for p in POLICIES])
    shown = display_frame(summary_table(results_frame(records), POLICIES), "cider")
    assert "CIDEr-D" in shown.columns and "SPICE" not in shown.columns
    cells = shown.drop(columns=["backbone", "strategy", "policy", "seeds"]).to_numpy().ravel()
    assert not any("±" in str(cell) for cell in cells)
    assert list(shown["seeds"]) == [1] * len(shown)


def test_charts_inline_their_scripts_and_speak_of_tokens(aggregated):
    plots = aggregated / "plots"
    for name in ("shapes-captions", "shapes-captions_exits", "shapes-captions_errors", "shapes-captions_training",
                 "shapes-captions_reliability", "shapes-captions_categories", "shapes-captions_pcee"):
        page = (plots / f"{name}.html").read_text()
        assert "<script src=" not in page and "vega-embed" in page.lower(), name  # inlined: renders offline
        assert (plots / f"{name}.png").stat().st_size > 0
    chart = (plots / "shapes-captions.html").read_text()
    assert "test CIDEr-D" in chart and "within tolerance (no bound)" in chart  # the oracle's cross
    assert "share of test tokens" in (plots / "shapes-captions_exits.html").read_text()
    assert "token error" in (plots / "shapes-captions_errors.html").read_text()


def test_check_stage_reads_a_caption_data_folder(tmp_path):
    rng = np.random.default_rng(5)
    for split in ("val", "test"):
        np.savez(tmp_path / f"{split}.npz", **token_exits(rng, N_IMAGES))
    for difficulty in (True, False):
        data = write_caption_data(tmp_path / f"data-{difficulty}", difficulty=difficulty)
        report = check_stage(tmp_path / "val.npz", tmp_path / "test.npz", data, tmp_path / f"checks-{difficulty}.json")
        assert report["unit"] == "token" and "pcee_targets" not in report
        assert report["errors"]["test"]["error_rate"][-1] == 0.0  # the final exit's token is the label
        assert "calibration_scaled" in report and "categories" in report
        assert ("exit_layer_by_difficulty" in report) == difficulty
    by_level = check_stage(tmp_path / "val.npz", tmp_path / "test.npz", tmp_path / "data-True",
                           tmp_path / "c.json")["exit_layer_by_difficulty"]
    counts = np.bincount(np.load(tmp_path / "test.npz")["sample_ids"])  # tokens per image; image i: difficulty i % 3
    assert set(by_level) == {"0", "1", "2"} and by_level["0"]["n_samples"] == counts[0::3].sum()
    # the exits alone (no data folder) say it is a caption run: eos_id / positions
    assert check_stage(tmp_path / "val.npz", tmp_path / "test.npz", None, tmp_path / "d.json")["unit"] == "token"


def test_check_stage_names_a_caption_folder_with_fewer_images_than_the_exits(tmp_path):
    rng = np.random.default_rng(6)
    for split in ("val", "test"):
        np.savez(tmp_path / f"{split}.npz", **token_exits(rng, N_IMAGES))
    data = write_caption_data(tmp_path / "data", n_images=3)
    with pytest.raises(DataError, match=r"test.jsonl': the test exits' sample_ids run from 0 to 7, but the file "
                                        r"holds 3 images"):
        check_stage(tmp_path / "val.npz", tmp_path / "test.npz", data, tmp_path / "checks.json")


def test_training_curves_read_the_captioners_log(tmp_path):
    run = write_run(tmp_path, "shapes-captions", 0)
    curves = training_curves([run / "model"])
    # two phases whose steps restart: drawn against the line number; the exits a phase does not train are left out
    assert sorted(curves["step"].unique()) == list(range(1, 11))
    assert set(curves[curves["step"] <= 5]["exit"]) == {N_EXITS}
    assert set(curves[curves["step"] > 5]["exit"]) == set(range(1, N_EXITS))
    main = tmp_path / "runs" / "t" / "b" / "s" / "seed0" / "model"
    main.mkdir(parents=True)
    (main / "train_log.jsonl").write_text("".join(json.dumps({"step": 10 * s, "loss_per_exit": [1.0, 0.5]}) + "\n"
                                                  for s in (1, 2)))
    assert sorted(training_curves([main])["step"].unique()) == [10, 20]  # the main trainer's steps, kept
    (main / "train_log.jsonl").write_text(json.dumps({"step": 1, "loss": 1.0}) + "\n")
    with pytest.raises(DataError, match="no per-exit losses"):
        training_curves([main])


def test_samples_need_both_sample_id_and_image_scores(tmp_path):
    runs = caption_tree(tmp_path, seeds=(0,))
    path = runs[0] / "policies" / "final" / "test.json"
    record = json.loads(path.read_text())
    del record["samples"]["image_scores"]
    path.write_text(json.dumps(record))
    with pytest.raises(DataError, match="need both sample_id .* found only sample_id"):
        collect_samples(cell_records([path]))


def test_caption_data_summary():
    info = {"kind": "captioning", "sizes": {"train": 10, "test": 4}, "references_per_image": {"train": 5, "test": 5},
            "caption_words": {"min": 2, "mean": 9.25, "max": 20}}
    frame = data_summary(info)
    assert frame.to_dict("records")[1] == {"split": "test", "images": 4, "references per image": 5.0,
                                           "words per caption (all splits: min / mean / max)": "2 / 9.25 / 20"}


# ---- Paper vs eebench on a caption task ---------------------------------------------------------------------

COCO = TaskSetting("coco-captions", "image-caption", 0, train_size=113287)
SHAPES = TaskSetting("shapes-captions", "image-caption", 0, train_size=1500)


def caption_measurements(final=(1.10, 1.12), beem=(1.095, 1.115), beem_speed=(1.6, 1.7), maxprob_curve=None):
    rows = []
    for policy, metrics, speeds in (("final", final, (1.0, 1.0)), ("beem-c", beem, beem_speed),
                                    ("maxprob", (1.09, 1.11), (1.5, 1.6))):
        rows += [{"task": "t", "backbone": "caption-tiny", "strategy": "joint-kl", "seed": seed, "policy": policy,
                  "metric_name": "cider", "metric": m, "layer_speedup": s, "flops_speedup": np.nan,
                  "mean_exit_layer": 4 / s} for seed, (m, s) in enumerate(zip(metrics, speeds))]
    points = []
    for seed in (0, 1):
        points += [{"backbone": "caption-tiny", "strategy": "joint-kl", "seed": seed, "policy": "beem-c",
                    "layer_speedup": x, "metric": y, "flops_speedup": np.nan}
                   for x, y in ((1.0, final[seed]), (2.0, final[seed] - 0.01))]  # at 1.5×: 0.5 point below final
        points += [{"backbone": "caption-tiny", "strategy": "joint-kl", "seed": seed, "policy": "maxprob",
                    "layer_speedup": x, "metric": y, "flops_speedup": np.nan}
                   for x, y in (maxprob_curve or ((1.0, final[seed]), (2.0, final[seed] - 0.06)))]
    checks = [({"backbone": "caption-tiny", "strategy": "joint-kl", "seed": seed},
               {"unit": "token", "errors": {"test": {"error_rate": [0.4, 0.2, 0.1, 0.0], "monotone_decreasing": True}}})
              for seed in (0, 1)]
    return Measurements(pd.DataFrame(rows), pd.DataFrame(points), checks, {}, 0.01)


def caption_rows(table: pd.DataFrame) -> pd.DataFrame:
    return table[table["claim"].str.contains("coco-captions")]


def test_the_shipped_caption_claims_are_judged_on_coco():
    table, _ = paper_comparison(load_published(), COCO, caption_measurements())
    rows = caption_rows(table).set_index("rule")
    assert set(rows.index) == {"beem-speedup", "beem-comparable", "close-at-speedup"}
    assert rows["source"].str.contains("arXiv 2502.00745|arXiv 2410.04433").all()
    # BEEM at 1.5× on its curve: 0.5 point below the final exit on both seeds → holds
    assert rows.loc["beem-speedup", "verdict"].startswith(HOLDS)
    assert "drop 0.5 ± 0.0 points at 1.5×" in rows.loc["beem-speedup", "eebench"]
    # BEEM's val-fitted point: drops 0.5 point on both seeds → comparable (≤ 1 point)
    assert rows.loc["beem-comparable", "verdict"].startswith(HOLDS)
    assert "ours trained on 113287 images" in rows.loc["beem-comparable", "why / setting"]
    # CapEEN at 1.77×: maxprob's curve loses 6 points from 1× to 2×, so 4.62 points at 1.77× → does not hold
    assert rows.loc["close-at-speedup", "verdict"].startswith(FAILS)
    assert "at 1.77×" in rows.loc["close-at-speedup", "why / setting"]
    # BEEM's assumption (any task) reads the token errors of checks.json
    assert table[table["rule"] == "monotone"]["verdict"].tolist() == [HOLDS]


def test_caption_claims_on_shapes_are_references_of_different_data():
    table, skipped = paper_comparison(load_published(), SHAPES, caption_measurements())
    rows = caption_rows(table)
    assert len(rows) == 3 and set(rows["verdict"]) == {NOT_COMPARABLE}
    assert rows["why / setting"].str.startswith("different data: published on coco-captions, ours on "
                                               "shapes-captions").all()
    assert "(on these figures the rule reads: holds" in rows[rows["rule"] == "beem-speedup"]["why / setting"].iloc[0]
    assert table["published line"].nunique() + skipped == len(load_published())


def test_caption_claims_compare_with_caption_tasks_only():
    assert comparable("coco-captions", COCO) and comparable("coco-captions", SHAPES)
    assert not comparable("coco-captions", TaskSetting("sst2", "text", 2))
    assert not comparable("coco-captions", TaskSetting("mnist", "image", 10))
    assert not comparable("cifar10/cifar100/imagenet", COCO) and not comparable("glue", COCO)
    setting = task_setting("coco-captions", {"kind": "captioning", "sizes": {"train": 500}, "options": {"max_train": 500}})
    assert setting.captions and setting.train_size == 500 and setting.train_capped and not setting.classification


def test_the_aggregate_writes_the_paper_section_of_a_caption_task(aggregated):
    section = pd.read_csv(aggregated / "tables" / "shapes-captions_paper.csv")
    captions = section[section["claim"].str.contains("coco-captions")]
    assert len(captions) == 3 and set(captions["verdict"]) == {NOT_COMPARABLE}
    assert "monotone" in set(section["rule"])
    markdown = (aggregated / "tables" / "shapes-captions.md").read_text()
    assert "## Paper vs eebench" in markdown and "BEEM (Bajpai & Hanawal 2025)" in markdown


def test_leaderboard_markdown_of_a_classification_board_is_unchanged_in_its_wording():
    # a board written before the caption columns existed reads as a classification board
    board = pd.DataFrame([{"group": "m", "rank": 1, "policy": "m", "n_runs": 1, "speedup": 2.0, "speedup_low": 1.5,
                           "speedup_high": 2.5, "metric": 0.9, "metric_low": 0.85, "metric_high": 0.95, "drop": 0.0,
                           "drop_low": 0.0, "drop_high": 0.0, "runs_within_tolerance": 1, "within_tolerance": True,
                           "oracle_share": np.nan, "sweep_speedup": np.nan, "area": np.nan,
                           "area_low_speedup": np.nan, "area_high_speedup": np.nan, "vs_baseline": None,
                           "vs_leader": "m", "resamples": 10,
                           **{f"{p}_{k}": np.nan for p in ("vs_baseline", "vs_leader")
                              for k in ("diff", "diff_low", "diff_high", "p", "n_pairs")}}])
    text = leaderboard_markdown(board, "accuracy", 0.01)
    assert "seeds and test samples resampled" in text and "The limit is the oracle's least mean depth" in text
    assert "the intervals resample the test samples of the one run" in text


def test_a_classification_task_still_resamples_samples():
    labels = np.ones(6, dtype=np.int64)
    samples = {("m", "j", 0, policy): {"exit_layer": np.array(exits), "prediction": labels, "label": labels,
                                       "n_exits": 3}
               for policy, exits in (("final", [3] * 6), ("fast", [1] * 6))}
    results = pd.DataFrame([{"task": "t", "backbone": "m", "strategy": "j", "seed": 0, "policy": p,
                             "metric_name": "accuracy", "metric": 1.0, "layer_speedup": s}
                            for p, s in (("final", 1.0), ("fast", 3.0))])
    board = task_leaderboard(results, results.drop(columns="metric_name"), samples, 0.01, resamples=20)
    assert set(board["resampled"]) == {"test samples"} and board["limit_bound"].all()
