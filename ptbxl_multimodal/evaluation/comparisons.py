"""Like for like: the fusion against each branch in the form the fusion deploys it, and against itself without
each branch (ablations), on the test split and the bootstrap resamples every model shares.

For the stacked fusion a branch's deployed form is the module inside the fusion (the mean of its cross-fitting
models under `fusion.test_logits: bagged`, the train@ model under `full`), and each ablation is the combiner
refitted on the same out-of-fold logits without one branch (fusion.stacking.fit_ablations), applied to the same
test logits: no retraining. "<branch>" is the deployed-form branch itself (a one-branch stack only rescales
each class's logit, which leaves every AUC as it is). For an embedding head the deployed form of a branch is its
train@ model; its ablations are fusion.branches experiments (README). Everything here is ranked on logits:
AUC does not depend on calibration.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ptbxl_multimodal.evaluation import metrics as M
from ptbxl_multimodal.fusion.heads import as_fusion
from ptbxl_multimodal.fusion.stacking import combine
from ptbxl_multimodal.models.runtime import module_logits


def branch_logits(model: torch.nn.Module, inputs: dict[str, np.ndarray], batch_size: int) -> dict[str, np.ndarray]:
    """Each branch's logits (n, C) as the fusion model computes them (its own branch modules), on the CPU."""
    fusion = as_fusion(model)
    return module_logits({name: fusion.branches[name] for name in fusion.order}, inputs, batch_size)


def ablation_logits(z: dict[str, np.ndarray], ablations: dict[str, dict]) -> dict[str, np.ndarray]:
    """The fused logits (n, C) of every refitted combiner in `ablations` (name -> branches, weights, intercept)."""
    return {
        name: combine(
            np.stack([z[b] for b in a["branches"]], axis=1), np.asarray(a["weights"]), np.asarray(a["intercept"])
        )
        for name, a in ablations.items()
    }


def _auc(y: np.ndarray, scores: np.ndarray, resamples: np.ndarray) -> tuple[float, np.ndarray]:
    boot = M.resampled_aucs(y, scores, resamples)
    return M.macro_auc(y, scores), boot.mean(axis=1) if boot.shape[1] else np.zeros(0)


def like_for_like(
    y: np.ndarray,
    fusion: np.ndarray,
    deployed: dict[str, np.ndarray],
    ablations: dict[str, np.ndarray],
    best: str,
    resamples: np.ndarray,
) -> dict[str, Any]:
    """Test macro AUC of the fusion's scores, each deployed-form branch's and each ablation's (all (n, C)), with the
    paired differences: fusion minus each deployed branch (`best`: the validation-best one, fusion_vs_best), and
    each ablation minus the fusion (negative: the view left out adds that much). "<branch>" rows are the
    deployed branches."""
    fused, fused_boot = _auc(y, fusion, resamples)
    out: dict[str, Any] = {"validation_best": best, "fusion_macro_auc": fused, "deployed": {}, "ablations": {}}
    for name, scores in deployed.items():
        auc, boot = _auc(y, scores, resamples)
        out["deployed"][name] = {"macro_auc": auc, "fusion_minus": M.paired_difference(fused, auc, fused_boot, boot)}
    rows = {**ablations, **{name: scores for name, scores in deployed.items()}}
    for name, scores in rows.items():
        auc, boot = _auc(y, scores, resamples)
        out["ablations"][name] = {"macro_auc": auc, "minus_fusion": M.paired_difference(auc, fused, boot, fused_boot)}
    out["fusion_minus_best"] = out["deployed"][best]["fusion_minus"]
    return out
