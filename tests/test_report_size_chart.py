"""Accuracy against FLOPs across model sizes (PCEE's larger-vs-smaller claim), on a hand-built pair: the larger
model costs 8 FLOPs at full depth, the smaller 4."""

import pandas as pd
import pytest

from eebench.report.paper_claims import Measurements
from eebench.report.size_chart import NO_PAIR, size_chart, size_frames


def pair() -> Measurements:
    rows = [{"backbone": backbone, "strategy": "joint", "seed": seed, "policy": policy, "metric": metric,
             "flops_speedup": speedup}
            for backbone, policy, metrics, speedup in (
                ("large", "final", (0.99, 0.98), 1.0), ("small", "final", (0.95, 0.95), 1.0),
                ("large", "pcee-d90", (0.98, 0.98), 1.6))
            for seed, metric in enumerate(metrics)]
    # the larger model's sweep: FLOPs speed-ups 1, 2, 4 = 8, 4, 2 FLOPs per sample
    curves = pd.DataFrame([{"backbone": "large", "strategy": "joint", "seed": seed, "policy": "pcee-d90",
                            "flops_speedup": speedup, "metric": metric}
                           for seed, metrics in enumerate(((0.99, 0.97, 0.90), (0.98, 0.96, 0.88)))
                           for speedup, metric in zip((1.0, 2.0, 4.0), metrics)])
    flops = {("large", "joint", 0): 8.0, ("large", "joint", 1): 8.0, ("small", "joint", 0): 4.0,
             ("small", "joint", 1): 4.0}
    return Measurements(pd.DataFrame(rows), curves, [], flops, 0.01)


def test_the_larger_models_sweep_is_read_at_the_smaller_models_full_flops():
    frames = size_frames(pair())
    # at 4 FLOPs the larger model's sweep is at speed-up 2: 0.97 and 0.96, mean 0.965
    assert frames["matched"].to_dict("records") == [
        {"panel": "large vs small / joint", "policy": "pcee-d90", "flops": 4.0, "metric": pytest.approx(0.965),
         "n_seeds": 2}]
    assert frames["budgets"]["label"].tolist() == ["small full depth"]
    finals = frames["finals"].set_index("model")
    assert finals.loc["large final exit", "flops"] == 8.0 and finals.loc["large final exit", "metric"] == 0.985
    assert finals.loc["small final exit", "flops"] == 4.0 and finals.loc["small final exit", "metric"] == 0.95
    # val-fitted at a FLOPs speed-up of 1.6: 8 / 1.6 = 5 FLOPs per sample
    assert frames["fitted"][["flops", "metric"]].values.tolist() == [[pytest.approx(5.0), pytest.approx(0.98)]]
    curve = frames["curves"]
    assert curve["flops"].min() == pytest.approx(2.0) and curve["flops"].max() == pytest.approx(8.0)
    at_six = curve.iloc[(curve["flops"] - 6.0).abs().argmin()]  # between 4 and 8 FLOPs, linear in the speed-up
    assert 0.965 < at_six["metric"] < 0.985


def test_the_chart_draws_a_panel_per_pair_and_says_when_there_is_none(tmp_path):
    from eebench.report.charts import save_chart

    spec = size_chart(pair(), "accuracy").to_dict()
    assert spec["vconcat"][0]["title"] == "large vs small / joint"
    save_chart(size_chart(pair(), "accuracy"), tmp_path / "sizes.html", tmp_path / "sizes.png")
    assert (tmp_path / "sizes.png").stat().st_size > 5_000
    one_size = pair()
    one_size.full_model_flops = {key: value for key, value in one_size.full_model_flops.items() if key[0] == "large"}
    assert NO_PAIR in str(size_chart(one_size, "accuracy").to_dict())
