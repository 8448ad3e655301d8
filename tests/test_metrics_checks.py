"""checks.json: error rates per exit and monotonicity, calibration, the survey's categories, overthinking,
PCEE targets and exit depth per designed difficulty."""

import json

import numpy as np
import pytest

from eebench.errors import DataError
from eebench.exits import ExitOutputs
from eebench.policies.checks import check_stage
from policy_helpers import binary, synthetic_exits


def save(path, logits, labels, ids=None):
    ExitOutputs(logits, labels, np.arange(len(labels)) if ids is None else ids).save(path)
    return path


def test_categories_and_overthinking_by_hand(tmp_path):
    # Three exits, label 1 for all. Sample 0: 0.95 at exit 1 (confident, right). Sample 1: 0.05 at exit 1
    # (confident, wrong: fake-confident; wrong everywhere). Sample 2: 0.6, 0.7 early (never >= 0.9: confused); its final exit is
    # wrong (0.3) while exit 1 was right -> overthinking. Error rates per exit: 1/3, 1/3, 2/3 -> rises at exit 3.
    logits = binary([0.95, 0.95, 0.95], [0.05, 0.2, 0.2], [0.6, 0.7, 0.3])
    labels = np.ones(3, dtype=np.int64)
    path = save(tmp_path / "t.npz", logits, labels)
    report = check_stage(path, path, tmp_path, tmp_path / "checks.json")
    assert report["categories"]["counts"] == {"confident": 1, "fake_confident": 1, "confused": 1}
    assert report["categories"]["overthinking_share"] == pytest.approx(1 / 3)
    assert report["errors"]["test"]["error_rate"] == pytest.approx([1 / 3, 1 / 3, 2 / 3])
    # The rise at exit 3 is one sample (sample 2: right -> wrong, none the other way): reported with its size,
    # not significant (McNemar: P(Binomial(1, 1/2) >= 1) = 0.5), so the errors still count as monotone.
    rise = report["errors"]["test"]["rises"]
    assert rise == [{"exit": 3, "size": pytest.approx(1 / 3), "right_to_wrong": 1, "wrong_to_right": 0,
                     "p_value": pytest.approx(0.5), "significant": False}]
    assert report["errors"]["test"]["rises_at_exits"] == [] and report["errors"]["test"]["monotone_decreasing"]
    assert len(report["calibration"]["test"]["ece"]) == 3
    assert json.loads((tmp_path / "checks.json").read_text())["n_exits"] == 3


def test_difficulty_and_pcee_targets(tmp_path):
    logits, labels = synthetic_exits(n=200, n_exits=4, n_classes=2, seed=3)
    path = save(tmp_path / "t.npz", logits, labels)
    with open(tmp_path / "test.jsonl", "w") as fh:
        for i in range(200):
            fh.write(json.dumps({"id": i, "text": "x", "label": int(labels[i]), "difficulty": i % 3}) + "\n")
    report = check_stage(path, path, tmp_path, tmp_path / "checks.json")
    by_level = report["exit_layer_by_difficulty"]
    assert set(by_level) == {"0", "1", "2"} and sum(v["n_samples"] for v in by_level.values()) == 200
    assert all(1 <= v["oracle_mean_exit_layer"] <= 4 for v in by_level.values())
    assert [row["delta"] for row in report["pcee_targets"]][:2] == [0.5, 0.55]


def test_regression_and_mismatch(tmp_path):
    logits = np.array([[[1.0], [1.5]], [[2.0], [2.2]]], dtype=np.float32)
    path = save(tmp_path / "r.npz", logits, np.array([1.4, 2.1]))
    report = check_stage(path, path, None, tmp_path / "checks.json")
    assert report["errors"]["val"]["mean_absolute_error"] == pytest.approx([0.25, 0.1], rel=1e-6)
    other = save(tmp_path / "o.npz", np.zeros((2, 3, 1), dtype=np.float32), np.zeros(2))
    with pytest.raises(DataError, match="does not match val"):
        check_stage(path, other, None, tmp_path / "c2.json")


def test_a_significant_error_rise_is_flagged(tmp_path):
    # 40 samples, label 1. Exit 1 right on all; exit 2 wrong on 8 of them, right elsewhere: b = 8, c = 0,
    # McNemar p = 0.5^8 = 0.0039 < 0.05 -> flagged. Exit 3 right on all again (a fall).
    rows = [[0.9, 0.2 if i < 8 else 0.9, 0.9] for i in range(40)]
    path = save(tmp_path / "t.npz", binary(*rows), np.ones(40, dtype=np.int64))
    errors = check_stage(path, path, None, tmp_path / "checks.json")["errors"]["test"]
    assert errors["error_rate"] == pytest.approx([0.0, 0.2, 0.0])
    assert errors["rises"][0]["p_value"] == pytest.approx(0.5**8)
    assert errors["rises_at_exits"] == [2] and not errors["monotone_decreasing"]


def test_error_rise_p_value_is_the_binomial_upper_tail():
    from eebench.metrics.checks import error_rise

    # 3 samples right → wrong, 1 wrong → right: P(Bin(4, 1/2) >= 3) = (4 + 1) / 16; 2 of 10 samples stay right
    before = np.array([1, 1, 1, 0, 1, 1, 0, 0, 0, 0], dtype=bool)
    after = np.array([0, 0, 0, 1, 1, 1, 0, 0, 0, 0], dtype=bool)
    rise = error_rise(before, after, exit_number=3)
    assert rise["p_value"] == pytest.approx(5 / 16) and not rise["significant"]
    assert (rise["right_to_wrong"], rise["wrong_to_right"], rise["size"]) == (3, 1, pytest.approx(0.2))


def test_pcee_target_above_the_final_accuracy_is_attainable_through_an_early_exit(tmp_path):
    # Two exits, 10 bins (bin = floor(10·C)), labels 1, 1, 0, 0, 0 (val = test here). P(class 1) per exit:
    #   exit 1: .97 .97 .03 .36 .62 -> right, right, right (C .97), right (C .64), wrong (C .62)
    #           bin 9 holds three right (accuracy 1), bin 6 one right of two (0.5)
    #   final:  .93 .07 .85 .15 .75 -> right, wrong (C .93), wrong (C .85), right (C .85), wrong (C .75)
    #           accuracy 2/5 = 0.4; bins 9 and 8 at 1/2, bin 7 at 0
    # δ = 0.8 is above the final exit's 0.4, but exit 1's bin 9 reaches it: not unattainable. pcee sends the bin-9
    # samples out at exit 1 (all right) and the bin-6 ones to the final exit (one right): 4/5 = 0.8 >= δ, holds.
    logits = binary([0.97, 0.93], [0.97, 0.07], [0.03, 0.85], [0.36, 0.15], [0.62, 0.75])
    path = save(tmp_path / "t.npz", logits, np.array([1, 1, 0, 0, 0]))
    rows = {row["delta"]: row for row in check_stage(path, path, None, tmp_path / "c.json")["pcee_targets"]}
    assert rows[0.8]["final_exit_accuracy"] == pytest.approx(0.4)
    assert rows[0.8]["best_val_bin_accuracy"] == 1.0
    assert rows[0.8]["status"] == "holds" and rows[0.8]["holds"] is True
    assert rows[0.8]["test_accuracy"] == pytest.approx(0.8) and rows[0.8]["early_exit_share"] == pytest.approx(0.6)
    assert rows[0.8]["early_exit_accuracy"] == 1.0
    # At δ = 0.95 (every bin 9 sample right, the rest to the final exit) the same 0.8 falls short: fails.
    assert rows[0.95]["status"] == "fails" and rows[0.95]["holds"] is False


def test_pcee_target_is_unattainable_when_no_val_bin_of_any_exit_reaches_it(tmp_path):
    # Both exits as the final exit above: bins at 1/2, 1/2 and 0 -> the best bin of any exit is 0.5. δ = 0.5 is
    # reachable (it holds or fails on test: accuracy 0.4 < 0.5, fails); every δ >= 0.55 is unattainable.
    final = [0.93, 0.07, 0.85, 0.15, 0.75]
    logits = binary(*[[p, p] for p in final])
    path = save(tmp_path / "t.npz", logits, np.array([1, 1, 0, 0, 0]))
    rows = {row["delta"]: row for row in check_stage(path, path, None, tmp_path / "c.json")["pcee_targets"]}
    assert rows[0.5]["status"] == "fails" and rows[0.5]["holds"] is False
    assert all(rows[d]["status"] == "unattainable" and rows[d]["holds"] is None for d in rows if d >= 0.55)
    assert rows[0.55]["best_val_bin_accuracy"] == 0.5
