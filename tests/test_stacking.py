"""The stacked fusion: the combiner recovers known weights, falls back to the best branch when the others are
noise, cross-fitting groups keep folds and patients whole, and the torch model computes what was fitted."""

import numpy as np
import pytest
import torch
from torch import nn

from ptbxl_multimodal.data.splits import Ratios, SplitSettings
from ptbxl_multimodal.errors import ParamError, StageError
from ptbxl_multimodal.models.stacked import BaggedBranch, StackedFusion
from ptbxl_multimodal.training import stacking
from ptbxl_multimodal.training.crossfit import crossfit_groups
from ptbxl_multimodal.training.stacking import choose_combiner, combine, fit_combiner


def synthetic(n, weights, intercept, seed):
    """Branch logits (n, B, C) and labels drawn from the stack with the given weights."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 2, (n, *weights.shape))
    y = (rng.random((n, weights.shape[1])) < 1 / (1 + np.exp(-combine(z, weights, intercept)))).astype(float)
    return z, y


def test_combiner_recovers_known_weights_and_the_ridge_only_shrinks_them(monkeypatch):
    weights = np.array([[1.5, 0.0], [0.5, 2.0], [0.0, 0.7]])
    intercept = np.array([-0.5, 0.3])
    z, y = synthetic(20000, weights, intercept, seed=0)
    ridged_w, _ = fit_combiner(z, y)
    monkeypatch.setattr(stacking, "RIDGE", 0.0)
    fitted_w, fitted_b = fit_combiner(z, y)
    assert fitted_w == pytest.approx(weights, abs=0.08)
    assert fitted_b == pytest.approx(intercept, abs=0.08)
    assert (fitted_w >= 0).all()
    assert (ridged_w <= fitted_w + 1e-6).all() and ridged_w.sum() > 0.8 * fitted_w.sum()  # shrunk, not reshaped
    assert np.array_equal(np.argsort(ridged_w, axis=0), np.argsort(fitted_w, axis=0))


def test_weights_never_go_negative():
    weights = np.array([[1.0], [0.0]])
    z, y = synthetic(5000, weights, np.zeros(1), seed=1)
    z[:, 1] = -z[:, 0] + np.random.default_rng(2).normal(0, 1, (5000, 1))  # anti-correlated: would get w < 0
    fitted_w, _ = fit_combiner(z, y)
    assert fitted_w[1, 0] == 0.0 and fitted_w[0, 0] > 0.5


@pytest.mark.parametrize("seed", range(5))
def test_falls_back_to_the_best_branch_when_the_others_are_noise(seed):
    rng = np.random.default_rng(seed)
    n, groups = 400, np.repeat(np.arange(4), 100)
    signal = rng.normal(0, 2, (n, 2))
    y = (rng.random((n, 2)) < 1 / (1 + np.exp(-signal))).astype(float)
    z = np.stack([signal, rng.normal(0, 2, (n, 2)), rng.normal(0, 2, (n, 2))], axis=1)  # branch 0, then noise
    choice = choose_combiner(z, y, groups, ["time", "freq", "meta"], best="time")
    assert choice.used == "time alone"
    assert choice.weights == [[1.0, 1.0], [0.0, 0.0], [0.0, 0.0]] and choice.intercept == [0.0, 0.0]
    assert choice.held_out_loss_stack >= choice.held_out_loss_best


def test_keeps_the_stack_when_branches_complement_each_other():
    weights = np.array([[1.0, 1.0], [1.0, 1.0]])  # each branch carries half the signal
    z, y = synthetic(2000, weights, np.zeros(2), seed=3)
    choice = choose_combiner(z, y, np.arange(2000) % 4, ["time", "spec"], best="time")
    assert choice.used == "stack" and choice.held_out_loss_stack < choice.held_out_loss_best
    assert np.array(choice.weights) == pytest.approx(weights, abs=0.25)


def split_settings(method):
    return SplitSettings(method, [1, 2, 3, 4, 5, 6, 7, 8], [9], [10], Ratios(0.8, 0.1, 0.1), seed=0)


def test_strat_fold_groups_pair_the_training_folds():
    strat_fold = np.array([1, 2, 3, 4, 5, 6, 7, 8, 8, 1])
    groups = crossfit_groups(strat_fold, np.arange(10), np.zeros((10, 1)), split_settings("strat_fold"), 4)
    assert groups.tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 3, 0]
    with pytest.raises(ParamError, match="crossfit.folds = 9"):
        crossfit_groups(strat_fold, np.arange(10), np.zeros((10, 1)), split_settings("strat_fold"), 9)


def test_stratified_groups_keep_each_patient_whole():
    rng = np.random.default_rng(0)
    patient = rng.integers(0, 60, 300)
    labels = rng.integers(0, 2, (300, 3))
    groups = crossfit_groups(np.ones(300), patient, labels, split_settings("stratified"), 4)
    assert set(groups.tolist()) == {0, 1, 2, 3}
    for p in np.unique(patient):
        assert len(set(groups[patient == p].tolist())) == 1


class Constant(nn.Module):
    def __init__(self, value):
        super().__init__()
        self.value = torch.tensor(value)

    def forward(self, x):
        return x[:, :1] * 0 + self.value


def test_stacked_model_computes_the_fitted_combination():
    branches = {"time": Constant([1.0, -2.0]), "meta": BaggedBranch([Constant([3.0, 0.0]), Constant([1.0, 2.0])])}
    model = StackedFusion(branches, torch.tensor([[0.5, 1.0], [2.0, 0.0]]), torch.tensor([0.1, -0.1]))
    out = model({"time": torch.zeros(2, 4), "meta": torch.zeros(2, 4)})
    # time logits (1, -2); meta: the mean of its fold models, (2, 1)
    assert out.numpy() == pytest.approx(np.array([[0.5 * 1 + 2 * 2 + 0.1, 1 * -2 + 0 * 1 - 0.1]] * 2))


def test_spread_matching_gives_the_bag_one_fold_models_spread_and_the_fitted_weights_their_meaning():
    """Averaging K fold models shrinks a branch's logits by its own amount (the noisier, the more). Matched, the bag
    has one fold model's spread and center per class, and the combiner fitted on single fold-model (out-of-fold)
    logits scores a lower BCE on it than on the plain mean."""
    rng = np.random.default_rng(0)
    n, k = 4000, 4
    signal = rng.normal(0, 1.5, (n, 2, 3))
    y = (rng.random((n, 3)) < 1 / (1 + np.exp(-(signal.sum(axis=1) - 0.5)))).astype(float)
    noise = np.array([1.0, 2.0])[None, :, None]  # branch 1 is noisier: its mean shrinks more
    weights, intercept = fit_combiner(signal + rng.normal(0, 1, (n, 2, 3)) * noise, y)  # out of fold: one model
    folds = signal[None] + rng.normal(0, 1, (k, n, 2, 3)) * noise
    plain, matched = folds.mean(axis=0), np.empty((n, 2, 3))
    scales = []
    for b in range(2):
        center, scale = stacking.match_spread(folds[:, :, b])
        matched[:, b] = center + scale * (plain[:, b] - center)
        scales.append(scale)
        assert matched[:, b].std(axis=0) == pytest.approx(folds[:, :, b].std(axis=1).mean(axis=0))
        assert matched[:, b].mean(axis=0) == pytest.approx(plain[:, b].mean(axis=0))
    assert (scales[1] > scales[0]).all() and (scales[0] > 1).all()

    def bce(z):
        return stacking.bce(combine(z, weights, intercept), y).mean()

    assert bce(matched) < bce(plain) - 0.005


def test_a_bagged_branch_applies_its_spread_matching_and_without_one_is_the_plain_mean():
    members = [Constant([3.0, 0.0]), Constant([1.0, 2.0])]  # mean (2, 1)
    x = torch.zeros(2, 4)
    assert torch.equal(BaggedBranch(members)(x), torch.tensor([[2.0, 1.0]] * 2))
    matched = BaggedBranch(members, center=torch.tensor([1.0, 0.0]), scale=torch.tensor([2.0, 1.5]))
    assert matched(x).numpy() == pytest.approx(np.array([[1 + 2 * (2 - 1), 0 + 1.5 * (1 - 0)]] * 2))


def test_cross_fitting_groups_must_keep_each_patient_in_one_group():
    """A table whose strat_folds split a patient would let a fold model see the patient it scores: refused."""
    strat_fold = np.array([1, 1, 2, 2, 3, 3, 4, 4, 5, 5])
    patient = np.array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    crossfit_groups(strat_fold, patient, np.zeros((10, 1)), split_settings("strat_fold"), 4)
    patient[4] = 2  # patient 2 now has records in folds 1 and 3
    with pytest.raises(StageError, match=r"share 1 patient\(s\) \(patient_id 2\)"):
        crossfit_groups(strat_fold, patient, np.zeros((10, 1)), split_settings("strat_fold"), 4)
