"""The stacked fusion: the combiner recovers known weights, shrinks them smoothly toward the calibrated average,
weights noise branches near 0 without switching to one branch, applies its weights to deployed logits aligned to the
fitted ones, cross-fitting groups keep folds and patients whole, and the torch model computes what was fitted."""

import numpy as np
import pytest
import torch
from torch import nn

from ptbxl_multimodal.config.sections import Ratios, SplitSettings
from ptbxl_multimodal.errors import ParamError, StageError
from ptbxl_multimodal.fusion import stacking
from ptbxl_multimodal.fusion.crossfit import crossfit_groups
from ptbxl_multimodal.fusion.stacked import AlignedBranch, BaggedBranch, StackedFusion
from ptbxl_multimodal.fusion.stacking import combine, fit_combiner


def synthetic(n, weights, intercept, seed):
    """Branch logits (n, B, C) and labels drawn from the stack with the given weights."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 2, (n, *weights.shape))
    y = (rng.random((n, weights.shape[1])) < 1 / (1 + np.exp(-combine(z, weights, intercept)))).astype(float)
    return z, y


def test_combiner_recovers_known_weights_and_shrinkage_pulls_them_to_the_target():
    weights = np.array([[1.5, 0.0], [0.5, 2.0], [0.0, 0.7]])
    intercept = np.array([-0.5, 0.3])
    z, y = synthetic(20000, weights, intercept, seed=0)
    fitted_w, fitted_b = fit_combiner(z, y)
    assert fitted_w == pytest.approx(weights, abs=0.08)
    assert fitted_b == pytest.approx(intercept, abs=0.08)
    assert (fitted_w >= 0).all()
    target = np.full_like(weights, 0.5)
    gaps = [np.abs(fit_combiner(z, y, target, s)[0] - target).sum() for s in (0.0, 0.01, 0.1, 1e4)]
    assert gaps == sorted(gaps, reverse=True) and gaps[-1] < 1e-3  # monotone in the strength, the target at the end


def test_weights_never_go_negative():
    weights = np.array([[1.0], [0.0]])
    z, y = synthetic(5000, weights, np.zeros(1), seed=1)
    z[:, 1] = -z[:, 0] + np.random.default_rng(2).normal(0, 1, (5000, 1))  # anti-correlated: would get w < 0
    fitted_w, _ = fit_combiner(z, y)
    assert fitted_w[1, 0] == 0.0 and fitted_w[0, 0] > 0.5


def test_the_target_averages_the_calibrated_branches_and_gives_a_noise_branch_no_weight():
    rng = np.random.default_rng(4)
    n = 20000
    signal = rng.normal(0, 1.5, (n, 2))
    y = (rng.random((n, 2)) < 1 / (1 + np.exp(-signal))).astype(float)
    z = np.stack([signal / 2, rng.normal(0, 2, (n, 2))], axis=1)  # a calibrated branch at half scale, then noise
    target = stacking.calibrated_average(z, y)
    assert target[0] == pytest.approx([1.0, 1.0], abs=0.08)  # its slope (2) over two branches
    assert target[1] == pytest.approx([0.0, 0.0], abs=0.02)


@pytest.mark.parametrize("seed", range(3))
def test_with_noise_branches_the_combination_keeps_the_signal_and_stays_a_combination(seed):
    """Where the old rule switched to the best branch alone, the shrunk stack weights the noise near 0 and holds
    the held-out loss of every strength it tried."""
    rng = np.random.default_rng(seed)
    n, groups = 400, np.repeat(np.arange(2), 200)
    signal = rng.normal(0, 2, (n, 2))
    y = (rng.random((n, 2)) < 1 / (1 + np.exp(-signal))).astype(float)
    z = np.stack([signal, rng.normal(0, 2, (n, 2)), rng.normal(0, 2, (n, 2))], axis=1)  # branch 0, then noise
    fitted = stacking.fit_shrunk(z, y, groups, ["time", "freq", "meta"])
    w = np.array(fitted.weights)
    assert (w[0] > 0.5).all() and (w[1:] < 0.15).all()
    assert set(fitted.held_out_loss) == {f"{s:g}" for s in stacking.STRENGTHS}
    assert fitted.strength in stacking.STRENGTHS
    assert fitted.held_out_loss[f"{fitted.strength:g}"] == min(fitted.held_out_loss.values())
    assert fitted.to_dict()["used"] == fitted.describe()


def test_keeps_both_branches_when_they_complement_each_other():
    weights = np.array([[1.0, 1.0], [1.0, 1.0]])  # each branch carries half the signal
    z, y = synthetic(2000, weights, np.zeros(2), seed=3)
    fitted = stacking.fit_shrunk(z, y, np.arange(2000) % 2, ["time", "spec"])
    assert fitted.live_branches() == ["time", "spec"] and fitted.describe().startswith("stack of time, spec")
    assert np.array(fitted.weights) == pytest.approx(weights, abs=0.25)


def test_a_small_change_in_the_out_of_fold_logits_moves_the_combination_a_little():
    """No cliff: logits perturbed by 5% of their spread (another thread count) give nearly the same weights."""
    weights = np.array([[1.2, 0.3], [0.2, 1.0], [0.0, 0.0]])
    z, y = synthetic(350, weights, np.zeros(2), seed=5)
    groups = np.arange(350) % 2
    a = np.array(stacking.fit_shrunk(z, y, groups, ["a", "b", "c"]).weights)
    nudged = z + 0.05 * z.std(axis=0) * np.random.default_rng(6).normal(size=z.shape)
    b = np.array(stacking.fit_shrunk(nudged, y, groups, ["a", "b", "c"]).weights)
    assert np.abs(a - b).max() < 0.2


def test_ablations_use_the_same_rule_on_the_other_branches():
    weights = np.array([[1.0, 1.0], [1.0, 1.0], [0.5, 0.0]])
    z, y = synthetic(1000, weights, np.zeros(2), seed=7)
    groups = np.arange(1000) % 2
    ablations = stacking.fit_ablations(z, y, groups, ["time", "spec", "meta"])
    assert set(ablations) == {"no_time", "no_spec", "no_meta"}
    refit = stacking.fit_shrunk(z[:, [0, 2]], y, groups, ["time", "meta"])
    assert ablations["no_spec"]["branches"] == ["time", "meta"]
    assert ablations["no_spec"]["weights"] == refit.weights and ablations["no_spec"]["strength"] == refit.strength


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
    bag = BaggedBranch([Constant([3.0, 0.0]), Constant([1.0, 2.0])])
    branches = {
        "time": Constant([1.0, -2.0]),
        "meta": AlignedBranch(bag, torch.tensor([2.0, 1.0]), torch.tensor([0.0, 1.0])),
    }
    model = StackedFusion(branches, torch.tensor([[0.5, 1.0], [2.0, 0.0]]), torch.tensor([0.1, -0.1]))
    out = model({"time": torch.zeros(2, 4), "meta": torch.zeros(2, 4)})
    # time logits (1, -2); meta: the mean of its fold models (2, 1), aligned: (2 * 2 + 0, 1 * 1 + 1) = (4, 2)
    assert out.numpy() == pytest.approx(np.array([[0.5 * 1 + 2 * 4 + 0.1, 1 * -2 + 0 * 2 - 0.1]] * 2))


@pytest.mark.parametrize("form", ["full", "bagged"])
def test_deployed_logits_twice_as_wide_as_the_fitted_ones_are_aligned_and_the_weights_hold(form):
    """The weights are fitted on out-of-fold logits of single fold models. A deployed branch whose logits are twice
    as wide and shifted (a train@ model trained on twice the records), or a mean of K fold models (narrower), is
    mapped per class onto the fold models' centre and spread on the same records: the fitted weights then score
    at least as well as on out-of-fold logits, and far better than applied to the raw deployed logits."""
    rng = np.random.default_rng(0)
    n, k = 4000, 2
    signal = rng.normal(0, 1.5, (n, 2, 3))
    y = (rng.random((n, 3)) < 1 / (1 + np.exp(-(signal.sum(axis=1) - 0.5)))).astype(float)
    noise = np.array([1.0, 2.0])[None, :, None]
    oof = signal + rng.normal(0, 1, (n, 2, 3)) * noise
    weights, intercept = fit_combiner(oof, y)
    folds = signal[None] + rng.normal(0, 1, (k, n, 2, 3)) * noise  # the fold models on validation
    deployed = 2.0 * (signal + rng.normal(0, 1, (n, 2, 3)) * noise) + 1.5 if form == "full" else folds.mean(axis=0)
    aligned = np.empty_like(deployed)
    for b in range(2):
        scale, offset = stacking.align_to_folds(deployed[:, b], folds[:, :, b])
        aligned[:, b] = scale * deployed[:, b] + offset
        assert aligned[:, b].std(axis=0) == pytest.approx(folds[:, :, b].std(axis=1).mean(axis=0))
        assert aligned[:, b].mean(axis=0) == pytest.approx(folds[:, :, b].mean(axis=(0, 1)))
        if form == "full":
            assert scale == pytest.approx(0.5, abs=0.05)

    def bce(z):
        return stacking.bce(combine(z, weights, intercept), y).mean()

    assert bce(aligned) < bce(oof) + 0.02  # as good as on the logits it was fitted on (a bag's mean is less noisy)
    assert bce(aligned) < bce(deployed) - (0.05 if form == "full" else 0.005)


def test_an_aligned_branch_maps_its_logits_and_a_bagged_branch_is_the_plain_mean():
    members = [Constant([3.0, 0.0]), Constant([1.0, 2.0])]  # mean (2, 1)
    x = torch.zeros(2, 4)
    assert torch.equal(BaggedBranch(members)(x), torch.tensor([[2.0, 1.0]] * 2))
    aligned = AlignedBranch(BaggedBranch(members), torch.tensor([2.0, 1.5]), torch.tensor([-1.0, 0.0]))
    assert aligned(x).numpy() == pytest.approx(np.array([[2 * 2 - 1, 1.5 * 1 + 0]] * 2))


def test_cross_fitting_groups_must_keep_each_patient_in_one_group():
    """A table whose strat_folds split a patient would let a fold model see the patient it scores: refused."""
    strat_fold = np.array([1, 1, 2, 2, 3, 3, 4, 4, 5, 5])
    patient = np.array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    crossfit_groups(strat_fold, patient, np.zeros((10, 1)), split_settings("strat_fold"), 4)
    patient[4] = 2  # patient 2 now has records in folds 1 and 3
    with pytest.raises(StageError, match=r"share 1 patient\(s\) \(patient_id 2\)"):
        crossfit_groups(strat_fold, patient, np.zeros((10, 1)), split_settings("strat_fold"), 4)


def test_a_stacked_checkpoint_from_before_the_alignment_is_refused_with_the_fix():
    """Its weights were fitted for logits its branches do not produce as stored: rerun the stage, not a silent
    wrong answer."""
    from ptbxl_multimodal.checkpoints import FusionCheckpoint
    from ptbxl_multimodal.fusion.checkpoints import stacked_from_checkpoint

    stack = {"weights": [[1.0]], "intercept": [0.0], "spread": {}}
    old = FusionCheckpoint({}, {"method": "stack", "test_logits": "full"}, ["A"], "t", {}, stack=stack)
    with pytest.raises(StageError, match=r"predates the alignment.*dvc repro fusion"):
        stacked_from_checkpoint(old)
