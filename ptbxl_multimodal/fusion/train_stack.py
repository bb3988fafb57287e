"""Fit the stacked fusion (`fusion.method: stack`) on the branches' out-of-fold logits and write its checkpoint.

The combiner is fitted on logits of models that never saw the records they score (fusion.crossfit), so it
learns how far to trust each branch on unseen data, not how well each memorised the training split. At test
time the weights apply to the train@ models (`fusion.test_logits: full`) or to the mean of each branch's fold
models (`bagged`), each mapped per class onto its fold models' centre and spread on validation
(fusion.stacking.align_to_folds), so the logits the weights see are of the kind they were fitted on.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from ptbxl_multimodal import checkpoints
from ptbxl_multimodal.branches import input_files
from ptbxl_multimodal.config.params import FusionParams
from ptbxl_multimodal.config.paths import ProjectPaths
from ptbxl_multimodal.data.loading import load_split, read_labels
from ptbxl_multimodal.errors import StageError
from ptbxl_multimodal.evaluation.metrics import macro_auc
from ptbxl_multimodal.fusion import checkpoints as fusion_checkpoints
from ptbxl_multimodal.fusion.crossfit import read_oof
from ptbxl_multimodal.fusion.stacking import STRENGTHS, align_to_folds, fit_ablations, fit_shrunk
from ptbxl_multimodal.fusion.train_fusion import load_branches
from ptbxl_multimodal.io.atomic import atomic_path
from ptbxl_multimodal.models.runtime import INFERENCE_BATCH, module_logits
from ptbxl_multimodal.predict.inference import Predictor
from ptbxl_multimodal.training.decisions import fit_decisions

log = logging.getLogger(__name__)


def out_of_fold(names: list[str], classes: list[str], paths: ProjectPaths) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Out-of-fold logits (n, B, C), labels (n, C) and cross-fitting groups (n,) of the training records."""
    ecg_id, groups, _, _ = read_oof(paths.oof(names[0]))  # what every branch must match
    logits = []
    for name in names:
        ids, g, z, oof_classes = read_oof(paths.oof(name))
        if oof_classes != classes or not np.array_equal(ids, ecg_id) or not np.array_equal(g, groups):
            raise StageError(
                f"{paths.oof(name)} does not match the other branches' cross-fitting (records, groups or classes); "
                "it is older than the split or the labels: rerun `dvc repro`"
            )
        logits.append(z)
    labels = read_labels(paths.records)
    y = labels.y[np.searchsorted(labels.ecg_id, ecg_id)].astype(np.float64)
    return np.stack(logits, axis=1), y, groups


def fold_logits(
    fold_ckpts: dict[str, list[checkpoints.BranchCheckpoint]], inputs: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Logits (K, n, C) of each branch's K cross-fitting models on `inputs`."""
    return {
        name: np.stack([module_logits({name: c.model()}, inputs, INFERENCE_BATCH)[name] for c in ckpts])
        for name, ckpts in fold_ckpts.items()
    }


def alignment(raw: dict[str, np.ndarray], folds: dict[str, np.ndarray], oof: np.ndarray) -> dict[str, dict]:
    """Per branch: the per-class scale and offset that map its deployed validation logits `raw` (n, C) onto its fold
    models' (K, n, C) centre and spread there, with those centres and spreads as measured (and the out-of-fold
    logits' `oof` (n_train, C) on the training records, which the weights were fitted on) for the record."""
    out = {}
    for b, (name, z) in enumerate(raw.items()):
        scale, offset = align_to_folds(z, folds[name])
        out[name] = {
            "scale": scale.tolist(),
            "offset": offset.tolist(),
            "fitted_center": folds[name].mean(axis=(0, 1)).tolist(),  # fold models on validation
            "fitted_sd": folds[name].std(axis=1).mean(axis=0).tolist(),
            "deployed_center": z.mean(axis=0).tolist(),  # before alignment
            "deployed_sd": z.std(axis=0).tolist(),
            "oof_center": oof[:, b].mean(axis=0).tolist(),  # out-of-fold, training records
            "oof_sd": oof[:, b].std(axis=0).tolist(),
        }
    return out


def train_stack(params: FusionParams, folds: int, calibration_method: str, paths: ProjectPaths) -> Path:
    """Fit the combiner on out-of-fold logits (of `folds` cross-fitting groups), shrunk toward the calibrated
    average by held-out loss; align each deployed branch (`fusion.test_logits`) to its fold models' logits on
    validation; calibrate (`calibration_method`) and tune thresholds there; write the checkpoint and
    metrics/train/fusion/ (metrics.json, stack.json)."""
    p = params.settings
    names = list(p.branches)
    ckpts = load_branches(names, paths)
    first = next(iter(ckpts.values()))
    classes = first.classes
    z, y, groups = out_of_fold(names, classes, paths)
    split = json.loads(paths.split.read_text())
    val = load_split(input_files(paths, names), split["val"], paths.records)
    fold_ckpts = {
        n: [checkpoints.load_branch(paths.fold_models(n) / f"fold{g}.pt") for g in range(folds)] for n in names
    }
    fold_val = fold_logits(fold_ckpts, val.inputs)
    if p.test_logits == "full":
        raw_val = module_logits(fusion_checkpoints.deployed_branches(ckpts, None), val.inputs, INFERENCE_BATCH)
    else:
        raw_val = {n: f.mean(axis=0) for n, f in fold_val.items()}

    combiner = fit_shrunk(z, y, groups, names)
    # The comparator: the best branch on validation in the deployed form (AUC: alignment does not change it).
    deployed_auc = {n: macro_auc(val.y, v) for n, v in raw_val.items()}
    best = max(names, key=lambda n: deployed_auc[n])
    log.info(
        "stack: %s; held-out BCE %.4f (free stack %.4f, calibrated average %.4f); best branch on validation: %s",
        combiner.describe(),
        min(combiner.held_out_loss.values()),
        combiner.held_out_loss[f"{STRENGTHS[0]:g}"],
        combiner.held_out_loss[f"{STRENGTHS[-1]:g}"],
        best,
    )
    stack = {
        **combiner.to_dict(),
        "best_branch": best,
        "deployed_val_auc": deployed_auc,
        "ablations": fit_ablations(z, y, groups, names),
        "align": alignment(raw_val, fold_val, z),
    }

    ckpt = fusion_checkpoints.stacked_checkpoint(
        ckpts, fold_ckpts if p.test_logits == "bagged" else None, stack, classes, first.task, {}
    )
    val_logits = Predictor(ckpt, INFERENCE_BATCH, "cpu").logits(val.inputs)  # as evaluate and predict run it
    fit_decisions(ckpt, val.y, val_logits, calibration_method)
    ckpt.training = {
        "method": "stack",
        "branches": names,
        "best_val_macro_auc": macro_auc(val.y, val_logits),
        "train_records": int(y.shape[0]),
    }
    out = paths.model("fusion")
    checkpoints.save(ckpt, out)
    summary = {
        "method": "stack",
        "used": combiner.describe(),
        "live_branches": len(combiner.live_branches()),
        "strength": combiner.strength,
        "test_logits": p.test_logits,
        "val": {
            "macro_auc": ckpt.training["best_val_macro_auc"],
        },
        "oof": {"held_out_loss": min(combiner.held_out_loss.values())},
    }
    per_class = {
        c: {"intercept": combiner.intercept[i], **{n: combiner.weights[b][i] for b, n in enumerate(names)}}
        for i, c in enumerate(classes)
    }
    with atomic_path(paths.train_logs / "fusion") as tmp:
        tmp.mkdir(parents=True)
        (tmp / "metrics.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
        decision = {**stack, "branches": names, "weights_per_class": per_class}
        (tmp / "stack.json").write_text(json.dumps(decision, indent=2, sort_keys=True) + "\n")
    return out
