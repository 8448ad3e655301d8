"""Leaderboard statistics on a hand-made task: two seeds of one model, every figure worked out by hand below."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from eebench.report.leaderboard import (
    leaderboard_html,
    leaderboard_markdown,
    mean_interval,
    mean_over_range,
    task_leaderboard,
)

TOLERANCE = 0.01
# (policy, seed) -> sweep points (layer speed-up, metric)
SWEEPS = {
    ("final", 0): [(1.0, 0.90)],
    ("final", 1): [(1.0, 0.80)],
    ("oracle", 0): [(4.0, 0.95)],
    ("oracle", 1): [(2.0, 0.85)],
    ("static-k", 0): [(1.0, 0.90), (1.5, 0.895), (2.0, 0.85), (4.0, 0.50)],
    ("static-k", 1): [(1.0, 0.80), (1.5, 0.78), (2.0, 0.70), (4.0, 0.40)],
    ("alpha", 0): [(1.0, 0.90), (2.0, 0.895), (3.0, 0.80)],
    ("alpha", 1): [(1.0, 0.80), (2.5, 0.795), (3.0, 0.70)],
    ("beta", 0): [(1.2, 0.90), (1.8, 0.88), (2.5, 0.85)],
    ("beta", 1): [(1.2, 0.80), (1.8, 0.79), (2.5, 0.70)],
}
FITTED = {("final", 0): (1.0, 0.90), ("final", 1): (1.0, 0.80), ("oracle", 0): (4.0, 0.95), ("oracle", 1): (2.0, 0.85),
          ("static-k", 0): (1.5, 0.895), ("static-k", 1): (1.0, 0.80), ("alpha", 0): (2.0, 0.895),
          ("alpha", 1): (2.5, 0.795), ("beta", 0): (1.2, 0.90), ("beta", 1): (1.8, 0.79)}


def cell(policy, seed):
    return {"task": "t", "backbone": "m", "strategy": "j", "seed": seed, "policy": policy}


@pytest.fixture
def board():
    curves = pd.DataFrame([{**cell(p, s), "layer_speedup": x, "metric": y}
                           for (p, s), points in SWEEPS.items() for x, y in points])
    results = pd.DataFrame([{**cell(p, s), "layer_speedup": x, "metric": y, "metric_name": "accuracy"}
                            for (p, s), (x, y) in FITTED.items()])
    return task_leaderboard(results, curves, TOLERANCE).set_index("policy")


def test_ranking_by_speedup_at_tolerance(board):
    # within 0.01 of final: alpha 2.0 and 2.5, beta 1.2 and 1.8, static-k 1.5 and 1.0, final 1.0
    assert board["speedup_at_tolerance"].to_dict() == pytest.approx(
        {"alpha": 2.25, "beta": 1.5, "static-k": 1.25, "final": 1.0, "oracle": 3.0})
    assert board["rank"].dropna().to_dict() == {"alpha": 1, "beta": 2, "static-k": 3, "final": 4}
    assert pd.isna(board.loc["oracle", "rank"])  # the limit, not ranked
    assert set(board["group"]) == {"m / j"}


def test_t_interval_over_two_seeds(board):
    # mean 2.25, sem = sd/√2 = 0.3536/1.414 = 0.25, t(0.975, df 1) = 12.7062 -> ± 3.1766
    assert board.loc["alpha", "speedup_at_tolerance_low"] == pytest.approx(2.25 - 3.17655, abs=1e-4)
    assert board.loc["alpha", "speedup_at_tolerance_high"] == pytest.approx(2.25 + 3.17655, abs=1e-4)


def test_area_over_the_common_range(board):
    # sweeps anchored at (1.0, final): static-k [1, 4], alpha [1, 3], beta [1, 2.5] -> common range [1, 2.5]
    assert board.loc["alpha", "area_low_speedup"] == 1.0 and board.loc["alpha", "area_high_speedup"] == 2.5
    # alpha seed 0 at 1, 2, 2.5: 0.9, 0.895, 0.8475 -> (0.8975 + 0.435625) / 1.5 = 0.88875;
    # seed 1 at 1, 2.5: 0.8, 0.795 -> 0.7975
    assert board.loc["alpha", "area"] == pytest.approx((0.88875 + 0.7975) / 2)
    # beta seed 0: anchor (1, 0.9) then (1.2, 0.9), (1.8, 0.88), (2.5, 0.85): 0.18 + 0.534 + 0.6055 over 1.5
    # seed 1: (1, 0.8), (1.2, 0.8), (1.8, 0.79), (2.5, 0.7): 0.16 + 0.477 + 0.5215 over 1.5
    assert board.loc["beta", "area"] == pytest.approx((1.3195 / 1.5 + 1.1585 / 1.5) / 2)
    assert board.loc["beta", "rank_by_area"] == 2 and board.loc["alpha", "rank_by_area"] == 1
    assert mean_over_range([1.0, 2.0, 3.0], [0.90, 0.895, 0.80], 1.2, 2.5) == pytest.approx(1.153225 / 1.3)
    assert math.isnan(board.loc["final", "area"])  # a single point has no curve


def test_share_of_the_oracle(board):
    # alpha: (1 - 1/2)/(1 - 1/4) = 2/3 on seed 0, (1 - 1/2.5)/(1 - 1/2) = 1.2 on seed 1
    assert board.loc["alpha", "oracle_share"] == pytest.approx((2 / 3 + 1.2) / 2)
    assert board.loc["final", "oracle_share"] == 0


def test_paired_comparisons_name_their_reference_and_p(board):
    # best baseline = static-k (ranked above final); alpha - static-k = 0.5, 1.5: mean 1, sem 0.5, t = 2 on 1 df
    # (a Cauchy distribution): p = 1 - 2 atan(2)/pi
    assert board.loc["alpha", "vs_baseline"] == "static-k"
    assert board.loc["alpha", "vs_baseline_diff"] == pytest.approx(1.0)
    assert board.loc["alpha", "vs_baseline_p"] == pytest.approx(1 - 2 * math.atan(2) / math.pi)
    # beta - alpha = -0.8, -0.7: mean -0.75, sem 0.05, t = -15: p = 1 - 2 atan(15)/pi = 0.0424
    assert board.loc["beta", "vs_leader"] == "alpha"
    assert board.loc["beta", "vs_leader_p"] == pytest.approx(1 - 2 * math.atan(15) / math.pi)
    assert board.loc["beta", "vs_leader_n_pairs"] == 2


def test_interval_needs_two_values():
    mean, low, high, n = mean_interval([2.0, float("nan")])
    assert (mean, n) == (2.0, 1) and math.isnan(low) and math.isnan(high)
    assert mean_interval([1.0, 1.0]) == (1.0, 1.0, 1.0, 2)


def test_markdown_and_html_say_who_wins(board):
    frame = board.reset_index()
    markdown = leaderboard_markdown(frame, "accuracy", TOLERANCE)
    assert "**alpha** gives the largest speed-up" in markdown
    assert "ahead of **beta** by 0.75× (paired t-test, p = 0.042, 2 paired runs: beyond seed noise)" in markdown
    assert "mean accuracy over speed-up 1.00–2.50×" in markdown
    page = leaderboard_html(frame, "t", "accuracy", TOLERANCE)
    assert "<b>alpha</b>" in page and '<tr class="leader">' in page and '<tr class="limit">' in page


def test_no_final_policy_gives_no_leaderboard():
    results = pd.DataFrame([{**cell("alpha", 0), "layer_speedup": 2.0, "metric": 0.9}])
    assert task_leaderboard(results, results, TOLERANCE).empty
