"""Like-for-like comparisons (evaluation.comparisons): ablations find the view that carries signal and shrug at
noise, the ablations are the deployed rule refitted without one branch, and a combination that weights one branch
alone differs from it by exactly 0."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ptbxl_multimodal.evaluation.comparisons import ablation_logits, branch_logits, like_for_like
from ptbxl_multimodal.evaluation.metrics import bootstrap_indices
from ptbxl_multimodal.fusion.stacked import StackedFusion
from ptbxl_multimodal.fusion.stacking import combine, fit_ablations, fit_shrunk
from ptbxl_multimodal.models.runtime import logits

NAMES = ["a", "b", "noise"]


def _views(n: int, seed: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Two classes whose true logit is s1 + s2: branch a sees s1, branch b sees s2 (each with some noise), and
    a third branch is pure noise."""
    rng = np.random.default_rng(seed)
    s1, s2 = rng.normal(size=(n, 2)), rng.normal(size=(n, 2))
    y = (rng.random((n, 2)) < 1 / (1 + np.exp(-2 * (s1 + s2)))).astype(np.float64)
    z = {"a": 2 * s1 + 0.3 * rng.normal(size=(n, 2)), "b": 2 * s2 + 0.3 * rng.normal(size=(n, 2))}
    z["noise"] = rng.normal(size=(n, 2))
    return z, y


def test_removing_a_noise_branch_changes_nothing_and_removing_unique_signal_costs():
    z_oof, y_oof = _views(3000, 0)
    stacked = np.stack([z_oof[n] for n in NAMES], axis=1)
    groups = np.arange(3000) % 2
    fitted = fit_shrunk(stacked, y_oof, groups, NAMES)
    weights, intercept = np.asarray(fitted.weights), np.asarray(fitted.intercept)
    ablations = fit_ablations(stacked, y_oof, groups, NAMES)
    assert set(ablations) == {"no_a", "no_b", "no_noise"}
    z, y = _views(800, 1)
    fused = combine(np.stack([z[n] for n in NAMES], axis=1), weights, intercept)
    out = like_for_like(y, fused, z, ablation_logits(z, ablations), "a", bootstrap_indices(y, 300, 0))
    noise = out["ablations"]["no_noise"]["minus_fusion"]
    assert abs(noise["diff"]) < 0.005 and noise["ci95_low"] <= 0 <= noise["ci95_high"]
    unique = out["ablations"]["no_b"]["minus_fusion"]
    assert unique["diff"] < -0.1 and unique["ci95_high"] < 0 and unique["share_le_0"] == 1.0
    assert out["ablations"]["noise"]["macro_auc"] < 0.6  # alone rows: the deployed branches themselves
    assert out["fusion_minus_best"] == out["deployed"]["a"]["fusion_minus"]


class Linear(nn.Module):
    def __init__(self, seed: int):
        super().__init__()
        torch.manual_seed(seed)
        self.layer = nn.Linear(6, 3)

    def forward(self, x):
        return self.layer(x)


def test_a_fusion_that_weights_one_branch_alone_differs_from_it_by_exactly_zero():
    """Weight 1 on one branch, 0 elsewhere, intercept 0 is that deployed-form branch itself, so fusion_vs_best is
    0, not just close (the paired comparison shares the resamples)."""
    branches = {n: Linear(i) for i, n in enumerate(NAMES)}
    weights = torch.zeros(3, 3)
    weights[1] = 1.0  # "b alone"
    fusion = StackedFusion(branches, weights, torch.zeros(3)).eval()
    rng = np.random.default_rng(0)
    inputs = {n: rng.normal(size=(200, 6)).astype(np.float32) for n in NAMES}
    y = (rng.random((200, 3)) < 0.4).astype(np.float64)
    fused = logits(fusion, inputs, 64, torch.device("cpu"))
    out = like_for_like(y, fused, branch_logits(fusion, inputs, 64), {}, "b", bootstrap_indices(y, 100, 0))
    assert out["fusion_minus_best"]["diff"] == 0.0
    assert out["fusion_minus_best"]["ci95_low"] == 0.0 == out["fusion_minus_best"]["ci95_high"]
