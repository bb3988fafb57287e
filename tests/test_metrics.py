"""Metric functions against values computed by hand."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from ptbxl_multimodal.evaluation import metrics as M

Y = np.array([[1, 0], [1, 1], [0, 1], [0, 0]])
P = np.array([[0.9, 0.2], [0.6, 0.7], [0.4, 0.6], [0.7, 0.1]])


def test_auc_by_hand():
    # class 0: positives {0.9, 0.6} vs negatives {0.4, 0.7}: pairs won 0.9>0.4, 0.9>0.7, 0.6>0.4 -> 3/4
    # class 1: positives {0.7, 0.6} vs negatives {0.2, 0.1}: all 4 pairs won -> 1
    assert M.per_class_auc(Y, P).tolist() == [0.75, 1.0]
    assert M.macro_auc(Y, P) == pytest.approx(0.875)


def test_auc_skips_classes_without_both_labels():
    y = np.array([[1, 1], [0, 1]])
    aucs = M.per_class_auc(y, np.array([[0.9, 0.5], [0.1, 0.4]]))
    assert aucs[0] == 1.0 and np.isnan(aucs[1])
    assert M.macro_auc(y, np.array([[0.9, 0.5], [0.1, 0.4]])) == 1.0


def test_binary_scores_and_subset_accuracy_by_hand():
    decision = P >= 0.5
    # class 0: decisions 1,1,0,1 vs truth 1,1,0,0 -> tp 2 fp 1 fn 0 tn 1
    s = M.binary_scores(Y, decision)
    assert s["precision"][0] == pytest.approx(2 / 3) and s["recall"][0] == 1.0
    assert s["f1"][0] == pytest.approx(0.8) and s["accuracy"][0] == 0.75
    # class 1: decisions 0,1,1,0 vs truth 0,1,1,0 -> perfect
    assert s["f1"][1] == 1.0 and s["accuracy"][1] == 1.0
    # exact match: rows 0,1,2 right, row 3 wrong on class 0
    assert M.subset_accuracy(Y, decision) == 0.75


def test_thresholds_maximise_f1_on_the_given_split():
    # class 0 (truth 1,1,0,0; p .9,.6,.4,.7): cut .9 -> F1 2/3, .7 -> 1/2, .6 -> 4/5, .4 -> 2/3  => 0.6
    # class 1 (truth 0,1,1,0; p .2,.7,.6,.1): cut .6 separates perfectly                   => 0.6
    assert M.tune_thresholds(Y, P).tolist() == [0.6, 0.6]
    assert np.all(M.tune_thresholds(np.zeros((3, 1)), np.ones((3, 1))) == 0.5)  # no positive: default


def test_fmax_by_hand():
    y = np.array([[1, 0], [0, 1]])
    p = np.array([[0.8, 0.3], [0.2, 0.6]])
    f, t = M.fmax(y, p)
    # any threshold in (0.3, 0.6] predicts exactly the true labels -> precision = recall = 1
    assert f == pytest.approx(1.0) and 0.3 < t <= 0.6
    y = np.array([[1, 1], [0, 1]])
    p = np.array([[0.9, 0.1], [0.1, 0.9]])
    # at t in (0.1, 0.9]: row0 precision 1 recall 1/2, row1 precision 1 recall 1 -> P=1, R=0.75 -> F=6/7
    assert M.fmax(y, p)[0] == pytest.approx(6 / 7)


def test_bootstrap_interval_contains_the_estimate_and_repeats():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, (200, 3))
    p = np.clip(y * 0.3 + rng.random((200, 3)) * 0.7, 0, 1)

    def interval(n, seed):
        return M.percentile_interval(M.resampled_aucs(y, p, M.bootstrap_indices(y, n, seed)).mean(axis=1))

    low, high = interval(200, 1)
    assert low < M.macro_auc(y, p) < high
    assert (low, high) == interval(200, 1)
    assert np.isnan(interval(0, 1)[0])


def test_vectorised_bootstrap_auc_equals_sklearn_per_resample():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, (40, 2))
    p = np.round(rng.random((40, 2)), 1)  # many ties
    idx = M.bootstrap_indices(y, 5, seed=5)
    expected = [[roc_auc_score(y[i, c], p[i, c]) for c in range(2)] for i in idx]
    assert M.resampled_aucs(y, p, idx) == pytest.approx(np.array(expected))


def test_paired_bootstrap_by_hand():
    y = np.array([[1], [0], [1], [0]])
    a = np.array([[0.9], [0.1], [0.8], [0.2]])  # perfect: AUC 1 on any resample
    b = np.array([[0.5], [0.5], [0.3], [0.6]])
    idx = np.array([[0, 1, 2, 3], [0, 0, 1, 3]])
    # b, whole split: positives 0.5, 0.3 against negatives 0.5, 0.6 -> one tie of four pairs = 0.125
    # b, second resample: positives 0.5, 0.5 against 0.5, 0.6 -> two ties of four pairs = 0.25
    assert M.resampled_aucs(y, b, idx)[:, 0].tolist() == [0.125, 0.25]
    d = M.paired_difference(1.0, 0.125, M.resampled_aucs(y, a, idx)[:, 0], M.resampled_aucs(y, b, idx)[:, 0])
    assert d["diff"] == 0.875 and d["share_le_0"] == 0.0
    assert (d["ci95_low"], d["ci95_high"]) == pytest.approx((0.75 + 0.125 * 0.025, 0.75 + 0.125 * 0.975))
    assert M.paired_difference(0.5, 0.5, np.array([0.1, 0.2]), np.array([0.2, 0.2]))["share_le_0"] == 1.0


def test_resamples_missing_a_class_are_redrawn():
    y = np.zeros((20, 3), dtype=int)
    y[7, 0] = 1  # one positive: plain resampling leaves it out of about a third of the resamples
    y[:10, 1] = 1
    # class 2 has no positive at all: it cannot be scored, so it is left out rather than redrawn for
    idx = M.bootstrap_indices(y, 500, seed=0)
    counts = y[idx].sum(axis=1)
    assert (counts[:, :2] > 0).all() and (counts[:, :2] < 20).all()
    assert len({tuple(r) for r in idx}) == 500  # still random resamples
    assert M.resampled_aucs(y, np.random.default_rng(0).random((20, 3)), idx).shape == (500, 2)
    assert M.scoreable(y).tolist() == [True, True, False]


def test_confusion_rows_are_one_2x2_per_class():
    from ptbxl_multimodal.evaluation.scoring import confusion_rows

    y = np.array([[1, 0], [0, 1], [1, 1]])
    decision = np.array([[1, 1], [0, 0], [0, 1]])
    rows = confusion_rows(y, decision, ["A", "B"])
    assert rows[:3] == [
        {"class": "A", "actual": "yes", "predicted": "yes"},
        {"class": "A", "actual": "no", "predicted": "no"},
        {"class": "A", "actual": "yes", "predicted": "no"},
    ]
    assert {r["class"] for r in rows} == {"A", "B"} and len(rows) == 6


def test_compact_metrics_are_the_compared_figures():
    from ptbxl_multimodal.evaluation.scoring import compact, compact_difference

    full = {
        "macro_auc": 0.9,
        "macro_auc_ci95_low": 0.8,
        "macro_auc_ci95_high": 0.95,
        "fmax": 0.7,
        "macro": {"f1": 0.6, "balanced_accuracy": 0.75},
        "subset_accuracy": 0.5,
        "test_records": 65,
        "per_class": {},
    }
    assert compact(full, 0.91) == {
        "auc": 0.9,
        "auc_lo": 0.8,
        "auc_hi": 0.95,
        "fmax": 0.7,
        "f1": 0.6,
        "subset_acc": 0.5,
        "bal_acc": 0.75,
        "n_test": 65,
        "val_auc": 0.91,
    }
    vs_best = {"diff": 0.02, "ci95_low": -0.01, "ci95_high": 0.05, "share_le_0": 0.2}
    assert compact_difference(vs_best, 65) == {"auc": 0.02, "auc_lo": -0.01, "auc_hi": 0.05, "p_le0": 0.2, "n_test": 65}


def test_accuracy_beside_balanced_and_majority_accuracy():
    y = np.zeros((50, 1), dtype=int)
    y[:1] = 1  # a rare class: 2% prevalence
    never = M.binary_scores(y, np.zeros_like(y))  # always "no": 98% accurate, and useless
    assert never["accuracy"][0] == 0.98 and never["majority_accuracy"][0] == 0.98
    assert never["balanced_accuracy"][0] == 0.5
    found = M.binary_scores(y, y)
    assert found["balanced_accuracy"][0] == 1.0 and found["majority_accuracy"][0] == 0.98


def test_no_bootstrap_writes_nulls_not_nan():
    """evaluate.bootstrap = 0 leaves the intervals undefined: JSON null, never NaN (which is not JSON)."""
    from ptbxl_multimodal.evaluation.scoring import compact_difference, json_ready

    d = M.paired_difference(0.9, 0.8, np.zeros(0), np.zeros(0))
    assert d["diff"] == pytest.approx(0.1) and np.isnan(d["ci95_low"])
    assert compact_difference(d, 65) == {"auc": 0.1, "auc_lo": None, "auc_hi": None, "p_le0": None, "n_test": 65}
    assert json_ready({"a": [float("nan"), 1.0], "b": {"c": float("inf")}}) == {"a": [None, 1.0], "b": {"c": None}}
