"""Paper vs eebench: each comparison rule on hand-made results and checks, verdicts worked out by hand; every shipped
published row gets a verdict on every task of the default and CPU-reproduction grids."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from eebench.report.paper_claims import (
    FAILS, HOLDS, NOT_COMPARABLE, Measurements, TaskSetting, comparable, paper_comparison, paper_markdown, task_setting,
)
from eebench.report.published import COLUMNS as PUBLISHED_COLUMNS
from eebench.report.published import load_published

ROOT = Path(__file__).resolve().parents[1]
SST2 = TaskSetting("sst2", "text", 2, train_size=8000)
PABEE = "PABEE (Zhou et al. 2020)"


def published(*rows: dict) -> pd.DataFrame:
    """Published rows in load_published's shape; unnamed columns empty."""
    full = [{**dict.fromkeys(PUBLISHED_COLUMNS, ""), "paper": PABEE, "source": "Table 1", "kind": "figure",
             "split": "dev", **row, "line": line} for line, row in enumerate(rows, 2)]
    return pd.DataFrame(full, columns=[*PUBLISHED_COLUMNS, "line"])


def result_rows(policy: str, metrics, speedups, backbone="minilm-l6", strategy="joint", **extra) -> list[dict]:
    return [{"task": "sst2", "backbone": backbone, "strategy": strategy, "seed": seed, "policy": policy,
             "metric": metric, "metric_name": "accuracy", "layer_speedup": speedup, "flops_speedup": speedup,
             "mean_exit_layer": 6 / speedup, **{k: v[seed] for k, v in extra.items()}}
            for seed, (metric, speedup) in enumerate(zip(metrics, speedups))]


def measured(rows, checks=(), curves=None, flops=None, tolerance=0.01) -> Measurements:
    curves = pd.DataFrame(columns=["backbone", "strategy", "seed", "policy", "metric", "layer_speedup",
                                   "flops_speedup"]) if curves is None else curves
    return Measurements(pd.DataFrame(rows), curves, list(checks), flops or {}, tolerance)


# seeds 0 and 1: final 80 and 82 points
FINAL = result_rows("final", [0.80, 0.82], [1.0, 1.0])


def compare(rows: pd.DataFrame, task: TaskSetting, data: Measurements) -> pd.DataFrame:
    table, _ = paper_comparison(rows, task, data)
    return table


def test_final_figure_on_another_backbone_is_a_reference_only():
    rows = published({"backbone": "albert-base", "task": "sst2", "method": "final", "metric": "accuracy", "value": "92.8"})
    row = compare(rows, SST2, measured(FINAL)).iloc[0]
    assert row["eebench"] == "final 81.0 ± 1.0" and row["seeds"] == 2
    why = row["why / setting"]
    assert row["verdict"] == NOT_COMPARABLE and why.startswith("backbone differs") and "albert-base vs minilm-l6" in why
    assert "8000 examples" in why and "the GLUE dev set" in why and row["source"] == "Table 1"


@pytest.mark.parametrize(("value", "verdict"), [("81.9", HOLDS), ("82.1", FAILS)])
def test_final_figure_on_the_same_backbone_is_judged_within_one_point(value, verdict):
    rows = published({"backbone": "minilm-l6", "task": "sst2", "method": "final", "metric": "accuracy", "value": value})
    assert compare(rows, SST2, measured(FINAL)).iloc[0]["verdict"] == verdict  # 81.0 >= value − 1 ?


def pabee(task="sst2", metric="accuracy", speedup="1.57"):
    return published(
        {"backbone": "albert-base", "task": task, "method": "final", "metric": metric, "value": "92.8"},
        {"backbone": "albert-base", "task": task, "method": "patience", "metric": metric, "value": "93.0", "speedup": speedup},
    )


def test_relative_claim_holds_when_our_delta_and_speedup_reach_theirs():
    # ours: Δ = −0.5 on both seeds (≥ +0.2 − 1 = −0.8), speed-up 1.7 (≥ 1.57)
    rows = FINAL + result_rows("patience", [0.795, 0.815], [1.6, 1.8])
    row = compare(pabee(), SST2, measured(rows)).iloc[1]
    assert row["published"] == "93.0 at 1.57×"
    assert row["eebench"] == "Δ -0.5 ± 0.0 points at 1.70 ± 0.10×" and row["verdict"] == HOLDS
    assert row["eebench setting"] == "minilm-l6/joint/patience"


def test_relative_claim_fails_below_their_speedup_and_metric_not_stated_is_not_comparable():
    rows = FINAL + result_rows("patience", [0.795, 0.815], [1.3, 1.5])  # 1.4× < 1.57×
    assert compare(pabee(), SST2, measured(rows)).iloc[1]["verdict"] == FAILS
    mrpc = TaskSetting("mrpc", "text-pair", 2)
    row = compare(pabee("mrpc", "f1 or accuracy (not stated)"), mrpc, measured(rows)).iloc[1]
    assert row["verdict"] == NOT_COMPARABLE and "does not say which metric" in row["why / setting"]


def test_beem_speedup_claim_per_beem_policy():
    rows = FINAL + result_rows("beem-c", [0.795, 0.815], [1.6, 1.6]) + result_rows("beem-a", [0.80, 0.82], [1.2, 1.4])
    claim = published({"paper": "BEEM", "kind": "claim", "backbone": "bert-base", "task": "glue", "method": "beem",
                       "metric": "speedup vs final layer", "speedup": "1.5-2.1", "note": "speed-ups of 1.5x to 2.1x"})
    table = compare(claim, SST2, measured(rows)).set_index("eebench setting")
    assert table.loc["minilm-l6/joint/beem-c", "verdict"] == HOLDS  # 1.6 ≥ 1.5, drop 0.5 ≤ 1
    assert table.loc["minilm-l6/joint/beem-a", "verdict"] == FAILS  # 1.3 < 1.5
    assert table["published"].iloc[0] == "“speed-ups of 1.5x to 2.1x”"


def checks(monotone=True, confident=0.8, targets=()):
    return {"errors": {"test": {"monotone_decreasing": monotone}},
            "categories": {"confidence_threshold": 0.9, "shares": {"confident": confident}},
            "pcee_targets": list(targets)}


def run(seed, backbone="minilm-l6"):
    return {"task": "sst2", "backbone": backbone, "strategy": "joint", "seed": seed}


def test_monotone_assumption_counts_runs():
    claim = published({"paper": "BEEM", "kind": "claim", "task": "any", "method": "beem", "metric": "assumption"})
    row = compare(claim, SST2, measured(FINAL, [(run(0), checks(True)), (run(1), checks(False))])).iloc[0]
    assert row["eebench"] == "holds on 1 of 2 runs" and row["verdict"] == FAILS
    row = compare(claim, SST2, measured(FINAL, [(run(0), checks(True)), (run(1), checks(True))])).iloc[0]
    assert row["verdict"] == HOLDS


def target(delta, status):
    return {"delta": delta, "test_accuracy": 0.0, "status": status, "holds": None if status == "unattainable" else status == "holds"}


def test_pcee_targets_over_attainable_deltas_on_image_tasks():
    claim = published({"paper": "PCEE", "kind": "claim", "task": "cifar10/cifar100/imagenet", "method": "pcee",
                       "metric": "accuracy >= delta"})
    mnist = TaskSetting("mnist", "image", 10)
    good = [(run(0, "cnn"), checks(targets=[target(0.9, "holds"), target(0.99, "unattainable")]))]
    row = compare(claim, mnist, measured(FINAL, good)).iloc[0]
    assert row["verdict"] == HOLDS and row["eebench"].startswith("holds for 1 of 1 attainable") and "1 unattainable" in row["eebench"]
    bad = good + [(run(1, "cnn"), checks(targets=[target(0.9, "fails")]))]
    row = compare(claim, mnist, measured(FINAL, bad)).iloc[0]
    assert row["verdict"] == FAILS and "fails at δ = 0.9" in row["why / setting"]
    assert compare(claim, SST2, measured(FINAL, good)).empty  # an image claim is not compared on text


@pytest.mark.parametrize(("shares", "verdict"), [((0.75, 0.85), HOLDS), ((0.5, 0.6), FAILS)])
def test_confident_share_within_ten_points_of_eighty(shares, verdict):
    claim = published({"paper": "Survey", "kind": "claim", "backbone": "bert-base", "task": "sst2", "method": "any",
                       "metric": "share of 'confident' samples at initial layers", "value": "~80%"})
    data = measured(FINAL, [(run(seed), checks(confident=share)) for seed, share in enumerate(shares)])
    row = compare(claim, SST2, data).iloc[0]
    assert row["verdict"] == verdict and row["eebench mean"] == pytest.approx(np.mean(shares) * 100)


def curve(policy, seed, points, backbone="minilm-l6"):
    return [{"backbone": backbone, "strategy": "joint", "seed": seed, "policy": policy, "metric": metric,
             "layer_speedup": speedup, "flops_speedup": flops} for speedup, metric, flops in points]


def test_computation_saved_by_the_best_method_within_tolerance():
    claim = published({"paper": "Survey", "kind": "claim", "task": "text classification", "method": "any",
                       "metric": "computation saved", "value": "40-80%"})
    # final 0.80 / 0.82; maxprob within 1 point up to 2.0× on both seeds (50 % saved), entropy up to 1.25× (20 %);
    # the oracle's 6× is no method
    points = pd.DataFrame(
        curve("maxprob", 0, [(2.0, 0.795, 2.0), (3.0, 0.70, 3.0)]) + curve("maxprob", 1, [(2.0, 0.815, 2.0)])
        + curve("entropy", 0, [(1.25, 0.80, 1.25)]) + curve("entropy", 1, [(1.25, 0.82, 1.25)])
        + curve("oracle", 0, [(6.0, 1.0, 6.0)]) + curve("oracle", 1, [(6.0, 1.0, 6.0)]))
    row = compare(claim, SST2, measured(FINAL, curves=points)).iloc[0]
    assert row["eebench"] == "50.0 ± 0.0 % saved (maxprob)" and row["verdict"] == HOLDS
    few = points[points["policy"] == "entropy"]
    assert compare(claim, SST2, measured(FINAL, curves=few)).iloc[0]["verdict"] == FAILS  # 20 % < 40 %


@pytest.mark.parametrize(("maxprob", "verdict"), [((0.75, 0.77), HOLDS), ((0.795, 0.815), FAILS)])
def test_ucb_against_a_static_threshold_on_the_shifted_domain(maxprob, verdict):
    claim = published({"paper": "Survey", "kind": "claim", "task": "domain shift (train on one domain; test on another)",
                       "method": "ucb", "metric": "static vs dynamic thresholds", "value": "static thresholds fail"})
    shifted = TaskSetting("uci-sentiment", "text", 2, shifted_domains=["imdb"])
    rows = (result_rows("final", [0.9, 0.9], [1, 1], **{"imdb/metric": [0.80, 0.82]})
            + result_rows("maxprob", [0.9, 0.9], [2, 2], **{"imdb/metric": list(maxprob)})
            + result_rows("ucb", [0.9, 0.9], [2, 2], **{"imdb/metric": [0.78, 0.80]}))
    row = compare(claim, shifted, measured(rows)).iloc[0]
    # drops on imdb: ucb 2.0; maxprob 5.0 (> 1 point, and ucb's is smaller: holds) or 0.5 (static did not fail)
    assert row["verdict"] == verdict and row["eebench"].startswith("imdb drop: ucb 2.0 ± 0.0")
    assert compare(claim, SST2, measured(rows)).empty  # no shifted domain: not compared


def test_larger_model_with_pcee_against_the_smaller_at_equal_flops():
    claim = published({"paper": "PCEE", "kind": "claim", "backbone": "larger vs smaller multi-exit model",
                       "task": "image classification (dataset not stated in the quoted text)", "method": "pcee",
                       "metric": "error at equal FLOPs", "value": "~6% vs ~7.4%"})
    mnist = TaskSetting("mnist", "image", 10)
    rows = result_rows("final", [0.93, 0.93], [1, 1], backbone="mlp") + result_rows("final", [0.97, 0.97], [1, 1], backbone="cnn")
    # cnn's full model costs 100 FLOPs, mlp's 50; cnn's PCEE point at 2.5× spends 40 ≤ 50 (error 5 %), the one at
    # 1.5× spends 67 > 50 (not affordable); mlp's final error is 7 %
    points = pd.DataFrame(curve("pcee-d90", 0, [(2.5, 0.95, 2.5), (1.5, 0.97, 1.5)], "cnn")
                          + curve("pcee-d90", 1, [(2.5, 0.95, 2.5)], "cnn"))
    flops = {("cnn", "joint", s): 100.0 for s in (0, 1)} | {("mlp", "joint", s): 50.0 for s in (0, 1)}
    row = compare(claim, mnist, measured(rows, curves=points, flops=flops)).iloc[0]
    assert row["eebench"] == "error 5.0 ± 0.0 % vs 7.0 ± 0.0 %" and row["verdict"] == HOLDS
    assert row["eebench setting"] == "cnn + PCEE vs mlp, joint"
    costly = {**flops, ("cnn", "joint", 0): 200.0, ("cnn", "joint", 1): 200.0}  # cheapest cnn point: 80 > 50
    row = compare(claim, mnist, measured(rows, curves=points, flops=costly)).iloc[0]
    assert row["verdict"] == NOT_COMPARABLE and "spends 80 FLOPs, more than mlp's full model (50)" in row["why / setting"]
    row = compare(claim, mnist, measured(rows, curves=points)).iloc[0]  # no costs.json with full-model FLOPs
    assert row["verdict"] == NOT_COMPARABLE and "full-model FLOPs" in row["why / setting"]


def test_which_published_tasks_compare_with_which_task():
    uci = TaskSetting("uci-sentiment", "text", 2, shifted_domains=["imdb"])
    digits = TaskSetting("digits", "image", 10)
    stsb = TaskSetting("stsb", "text-pair", 1)
    assert comparable("glue", SST2) and comparable("glue (easier tasks)", stsb) and not comparable("glue", uci)
    assert comparable("text classification", uci) and not comparable("text classification", stsb)
    assert comparable("domain shift (train on one domain)", uci) and not comparable("domain shift", SST2)
    assert comparable("cifar10/cifar100/imagenet", digits) and not comparable("cifar10", SST2)
    assert comparable("any", digits) and not comparable("rte", SST2) and comparable("sst2", SST2)


def test_task_setting_finds_the_shifted_domains_in_info():
    info = {"modality": "text", "n_classes": 2, "splits": {
        "train": {"size": 1200, "meta_distribution": {"domain": {"amazon": 600, "yelp": 600}}},
        "test": {"size": 1400, "meta_distribution": {"domain": {"amazon": 200, "imdb": 1000, "yelp": 200}}}}}
    setting = task_setting("uci-sentiment", info)
    assert setting.shifted_domains == ["imdb"] and setting.train_size == 1200 and setting.text


def grid_tasks() -> list[str]:
    tasks = []
    for name in ("config/config.yaml", "config/paper/cpu-reproduction.yaml"):
        tasks += [experiment["task"] for experiment in yaml.safe_load((ROOT / name).read_text())["experiments"]]
    return list(dict.fromkeys(tasks))


@pytest.mark.parametrize("task", grid_tasks())
def test_every_shipped_row_gets_a_verdict_on_the_grid_tasks(task):
    from eebench.tasks.registry import get_task

    spec = get_task(task)
    setting = TaskSetting(task, spec.modality, spec.n_classes, 1000, ["imdb"] if task == "uci-sentiment" else [])
    policies = ["final", "static-k", "maxprob", "entropy", "patience", "beem-c", "beem-a", "pcee", "ucb", "oracle"]
    rows, points, flops = [], [], {}
    for backbone, size in (("small", 50.0), ("large", 100.0)):
        for policy in policies:
            rows += result_rows(policy, [0.8, 0.82], [1.5, 1.7], backbone=backbone, **{"imdb/metric": [0.7, 0.72]})
            points += curve(policy, 0, [(1.5, 0.8, 1.5)], backbone) + curve(policy, 1, [(1.7, 0.82, 1.7)], backbone)
        flops |= {(backbone, "joint", seed): size for seed in (0, 1)}
    data = measured(rows, [(run(0), checks(targets=[target(0.8, "holds")]))], pd.DataFrame(points), flops)
    claims = load_published()
    table, skipped = paper_comparison(claims, setting, data)
    assert set(table["verdict"]) <= {HOLDS, FAILS, NOT_COMPARABLE}
    assert table["published line"].nunique() + skipped == len(claims)
    assert table["source"].str.len().gt(0).all()
    assert f"{skipped} other published rows are not comparable" in paper_markdown(table, skipped)


def test_aggregate_writes_the_section_after_the_leaderboard(tmp_path):
    from report_tree import TASK, make_results_tree

    tables = make_results_tree(tmp_path) / "tables"
    section = pd.read_csv(tables / f"{TASK}_paper.csv")
    # the toy task is no registered task: only the claims about any task compare (BEEM's assumption)
    assert list(section["rule"]) == ["monotone"] and section["source"].iloc[0] == "arXiv 2502.00745 abstract"
    markdown = (tables / f"{TASK}.md").read_text()
    assert markdown.index("## Leaderboard") < markdown.index("## Paper vs eebench") < markdown.index("## Exit policies")
    assert "40 other published rows are not comparable" in markdown
    page = (tables / f"{TASK}_paper.html").read_text()
    assert "arXiv 2502.00745 abstract" in page and "<table" in page
