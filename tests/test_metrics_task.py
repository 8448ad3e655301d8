"""Task metrics, speed-up and calibration against reference implementations (scikit-learn, SciPy)."""

import numpy as np
import pytest
from scipy import stats
from sklearn import metrics as skm

from eebench.errors import ConfigError, DataError
from eebench.metrics import task_metrics
from eebench.metrics.calibration import expected_calibration_error, reliability_diagram
from eebench.metrics.speedup import flops_speedup, layer_speedup, load_costs

rng = np.random.default_rng(0)


def test_classification_metrics_match_sklearn():
    y = rng.integers(0, 2, 200)
    p = np.where(rng.random(200) < 0.8, y, 1 - y)
    assert task_metrics.compute("f1", y, p) == pytest.approx(
        {"f1": skm.f1_score(y, p), "accuracy": skm.accuracy_score(y, p)}
    )
    assert task_metrics.primary("mcc", y, p) == pytest.approx(skm.matthews_corrcoef(y, p))
    y3, p3 = rng.integers(0, 3, 100), rng.integers(0, 3, 100)
    assert task_metrics.primary("mcc", y3, p3) == pytest.approx(skm.matthews_corrcoef(y3, p3))
    assert task_metrics.primary("f1", np.zeros(5), np.zeros(5)) == 0.0


def test_regression_metrics_match_scipy_with_ties():
    y = rng.integers(0, 5, 100).astype(float)
    p = y + rng.normal(size=100)
    p[:10] = 1.0  # ties
    values = task_metrics.compute("pearson-spearman", y, p)
    assert values["pearson"] == pytest.approx(stats.pearsonr(y, p)[0])
    assert values["spearman"] == pytest.approx(stats.spearmanr(y, p)[0])
    assert values["pearson-spearman"] == pytest.approx((values["pearson"] + values["spearman"]) / 2)


def test_rows_equal_single_calls():
    y = rng.integers(0, 2, 50)
    preds = rng.integers(0, 2, (4, 50))
    for metric in ("accuracy", "f1", "mcc"):
        rows = task_metrics.primary_rows(metric, y, preds)
        assert rows == pytest.approx([task_metrics.primary(metric, y, row) for row in preds])
    with pytest.raises(ConfigError, match="valid metrics: accuracy"):
        task_metrics.primary("acc", y, y)


def test_speedups(tmp_path):
    exits = np.array([1, 2, 3, 2])
    assert layer_speedup(exits, 4) == pytest.approx(4 / 2)  # L / mean exit layer
    assert flops_speedup(exits, [10, 20, 30, 40]) == pytest.approx(40 / 20)
    path = tmp_path / "costs.json"
    path.write_text('{"flops": [1, 3, 2], "n_exits": 3}')
    with pytest.raises(DataError, match="non-decreasing"):
        load_costs(path, 3)


def test_flops_speedup_divides_the_plain_full_model_when_costs_json_has_it(tmp_path):
    exits = np.array([1, 2, 3, 2])
    path = tmp_path / "costs.json"
    path.write_text('{"flops": [10, 20, 30, 40], "n_exits": 4, "full_model_flops": 34}')
    assert flops_speedup(exits, load_costs(path, 4)) == pytest.approx(34 / 20)
    path.write_text('{"flops": [10, 20, 30, 40], "n_exits": 4}')  # written before full_model_flops existed
    assert flops_speedup(exits, load_costs(path, 4)) == pytest.approx(40 / 20)
    path.write_text('{"flops": [10, 20, 30, 40], "n_exits": 4, "full_model_flops": -1}')
    with pytest.raises(DataError, match="full_model_flops"):
        load_costs(path, 4)


def test_calibration():
    confidence = np.array([0.95, 0.95, 0.55, 0.55])
    correct = np.array([1, 1, 1, 0])
    # Bin 9: acc 1.0 vs conf 0.95; bin 5: acc 0.5 vs conf 0.55 -> ECE = 0.5 * 0.05 + 0.5 * 0.05 = 0.05.
    assert expected_calibration_error(confidence, correct, n_bins=10) == pytest.approx(0.05)
    diagram = reliability_diagram(confidence, correct, n_bins=10)
    assert diagram["count"][9] == 2 and diagram["accuracy"][5] == 0.5 and diagram["accuracy"][0] is None
