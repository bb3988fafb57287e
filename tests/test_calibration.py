"""Post-hoc calibration and its figures (evaluation.calibration): fits recover known miscalibration, keep the
order of the records, and the Brier score and ECE are the textbook ones."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import brier_score_loss, roc_auc_score

import calibration_study
from ptbxl_multimodal.evaluation import calibration
from ptbxl_multimodal.evaluation.metrics import bootstrap_indices, tune_thresholds


def _miscalibrated(n=4000, scale=0.5, bias=-1.0, seed=0):
    """Logits z whose true probability is sigmoid(scale * z + bias), and outcomes drawn from it."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 3, size=(n, 2))
    y = (rng.random((n, 2)) < 1 / (1 + np.exp(-(scale * z + bias)))).astype(np.float64)
    return y, z


def test_platt_recovers_scale_and_bias_and_temperature_the_scale_alone():
    y, z = _miscalibrated()
    platt = calibration.fit(y, z, "platt")
    np.testing.assert_allclose(platt.scale, 0.5, atol=0.05)
    np.testing.assert_allclose(platt.bias, -1.0, atol=0.12)
    y0, z0 = _miscalibrated(bias=0.0)
    temperature = calibration.fit(y0, z0, "temperature")
    np.testing.assert_allclose(temperature.scale, 0.5, atol=0.05)
    assert np.all(temperature.bias == 0)
    assert calibration.fit(y, z, "none").probabilities(z) == pytest.approx(1 / (1 + np.exp(-z)))


def test_calibration_improves_brier_and_ece_out_of_sample_and_keeps_the_order():
    y, z = _miscalibrated(seed=1)
    y_new, z_new = _miscalibrated(seed=2)
    fitted = calibration.fit(y, z, "platt")
    raw, cal = 1 / (1 + np.exp(-z_new)), fitted.probabilities(z_new)
    assert calibration.brier(y_new, cal).mean() < calibration.brier(y_new, raw).mean() - 0.01
    assert calibration.ece(y_new, cal, 10).mean() < 0.03 < calibration.ece(y_new, raw, 10).mean()
    for c in range(2):  # a positive scale: the same ranking, so the same AUC and the same decisions
        assert roc_auc_score(y_new[:, c], cal[:, c]) == roc_auc_score(y_new[:, c], raw[:, c])
    t_raw, t_cal = tune_thresholds(y, 1 / (1 + np.exp(-z))), tune_thresholds(y, fitted.probabilities(z))
    np.testing.assert_array_equal(raw >= t_raw, cal >= t_cal)


def test_a_class_without_both_labels_keeps_the_identity():
    y, z = _miscalibrated(n=200)
    y[:, 1] = 0
    fitted = calibration.fit(y, z, "platt")
    assert fitted.scale[1] == 1 and fitted.bias[1] == 0


def test_brier_and_ece_by_hand():
    y = np.array([[1.0], [0.0], [1.0], [0.0]])
    p = np.array([[0.9], [0.2], [0.6], [0.6]])
    assert calibration.brier(y, p)[0] == pytest.approx(brier_score_loss(y[:, 0], p[:, 0]))
    # bins of width 0.5: {0.2} -> |0.2 - 0|; {0.9, 0.6, 0.6} -> |0.7 - 2/3|
    assert calibration.ece(y, p, 2)[0] == pytest.approx(0.25 * 0.2 + 0.75 * abs(0.7 - 2 / 3))
    rows = calibration.reliability_rows(y, p, 2, "m", ["A"])
    assert [(r["predicted"], r["observed"], r["records"]) for r in rows] == [(0.2, 0.0, 1), (0.7, 0.666667, 3)]


def test_cross_validated_probabilities_come_from_fits_without_the_record():
    y, z = _miscalibrated(n=400)
    probs = calibration_study.cross_validated(y, z, "platt", folds=4, seed=0)
    part = np.array_split(np.random.default_rng(0).permutation(400), 4)[0]
    rest = np.setdiff1d(np.arange(400), part)
    np.testing.assert_allclose(probs[part], calibration.fit(y[rest], z[rest], "platt").probabilities(z[part]))


def test_report_figures_pair_before_and_after_on_the_same_resamples():
    y, z = _miscalibrated(n=300)
    fitted = calibration.fit(y, z, "platt")
    raw, cal = 1 / (1 + np.exp(-z)), fitted.probabilities(z)
    out = calibration.figures(y, raw, cal, 10, "platt", ["A", "B"], bootstrap_indices(y, 200, 0))
    assert out["brier_change"]["diff"] == pytest.approx(out["brier"] - out["brier_uncalibrated"])
    assert out["brier_change"]["ci95_low"] <= out["brier_change"]["diff"] <= out["brier_change"]["ci95_high"] < 0
    assert (
        set(out["per_class"]) == {"A", "B"} and out["per_class"]["A"]["ece"] < out["per_class"]["A"]["ece_uncalibrated"]
    )


def test_an_unknown_method_is_refused():
    with pytest.raises(ValueError, match="calibration method 'isotonic'"):
        calibration.fit(np.zeros((2, 1)), np.zeros((2, 1)), "isotonic")
