"""Fit the stacked fusion (`fusion.method: stack`) on the branches' out-of-fold logits and write its checkpoint.

The combiner is fitted on logits of models that never saw the records they score (training.crossfit), so it
learns how far to trust each branch on unseen data, not how well each memorised the training split. At test
time the weights apply to the train@ models (`fusion.test_logits: full`) or to the mean of each branch's fold
models (`bagged`, spread back to one fold model's spread: training.stacking.match_spread); both are measured on
validation here and recorded.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from ptbxl_multimodal import checkpoints, fusion_checkpoints
from ptbxl_multimodal.branches import input_files
from ptbxl_multimodal.data.loading import load_split, read_labels
from ptbxl_multimodal.errors import StageError
from ptbxl_multimodal.evaluation.metrics import macro_auc
from ptbxl_multimodal.inference import Predictor
from ptbxl_multimodal.io.atomic import atomic_path
from ptbxl_multimodal.paths import ProjectPaths
from ptbxl_multimodal.runtime import INFERENCE_BATCH, module_logits
from ptbxl_multimodal.training.crossfit import read_oof
from ptbxl_multimodal.training.decisions import fit_decisions
from ptbxl_multimodal.training.stacking import choose_combiner, fit_ablations, match_spread
from ptbxl_multimodal.training.train_fusion import FusionParams, load_branches

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


def fold_logits(fold_ckpts: dict[str, list[dict]], inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Logits (K, n, C) of each branch's K cross-fitting models on `inputs`."""
    return {
        name: np.stack(
            [module_logits({name: checkpoints.branch_from_checkpoint(c)}, inputs, INFERENCE_BATCH)[name] for c in ckpts]
        )
        for name, ckpts in fold_ckpts.items()
    }


def train_stack(params: FusionParams, folds: int, calibration_method: str, paths: ProjectPaths) -> Path:
    """Choose and fit the combiner on out-of-fold logits (of `folds` cross-fitting groups); measure full and
    bagged test-time logits on validation, calibrate (`calibration_method`) and tune thresholds there; write the
    checkpoint and metrics/train/fusion/ (metrics.json, stack.json)."""
    p = params.settings
    names = list(p.branches)
    ckpts = load_branches(names, paths)
    first = next(iter(ckpts.values()))
    classes = first["classes"]
    z, y, groups = out_of_fold(names, classes, paths)
    split = json.loads(paths.split.read_text())
    val = load_split(input_files(paths, names), split["val"], paths.records)
    fold_ckpts = {n: [checkpoints.load(paths.fold_models(n) / f"fold{g}.pt") for g in range(folds)] for n in names}

    # The branch the stack must beat: the best on validation in the form the stack deploys it (bagged or full).
    fold_val = fold_logits(fold_ckpts, val.inputs)
    deployed_val = (
        {n: f.mean(axis=0) for n, f in fold_val.items()}
        if p.test_logits == "bagged"
        else module_logits(fusion_checkpoints.deployed_branches(ckpts, None), val.inputs, INFERENCE_BATCH)
    )
    deployed_auc = {n: macro_auc(val.y, v) for n, v in deployed_val.items()}
    best = max(names, key=lambda n: deployed_auc[n])
    choice = choose_combiner(z, y, groups, names, best)
    log.info(
        "stack: held-out BCE %.4f against %.4f for %s alone (best on validation, %s form): using %s",
        choice.held_out_loss_stack,
        choice.held_out_loss_best,
        best,
        p.test_logits,
        choice.used,
    )
    stack = {**choice.to_dict(), "deployed_val_auc": deployed_auc, "ablations": fit_ablations(z, y, names)}
    if choice.used == "stack":  # bagged, the weights fitted on single fold-model logits see logits of that spread
        matched = {n: match_spread(f) for n, f in fold_val.items()}
        stack["spread"] = {n: {"center": c.tolist(), "scale": s.tolist()} for n, (c, s) in matched.items()}

    variants = {
        mode: fusion_checkpoints.stacked_checkpoint(
            ckpts, fold_ckpts if mode == "bagged" else None, stack, classes, first["task"], {}
        )
        for mode in ("full", "bagged")
    }
    val_logits = {mode: Predictor(c, INFERENCE_BATCH, "cpu").logits(val.inputs) for mode, c in variants.items()}
    val_auc = {mode: macro_auc(val.y, z) for mode, z in val_logits.items()}  # AUC: logits rank as probabilities
    log.info("stack: validation macro AUC %.4f (full models), %.4f (bagged fold models)", *val_auc.values())
    ckpt = variants[p.test_logits]
    fit_decisions(ckpt, val.y, val_logits[p.test_logits], calibration_method)
    ckpt["training"] = {
        "method": "stack",
        "branches": names,
        "best_val_macro_auc": val_auc[p.test_logits],
        "val_macro_auc": val_auc,
        "train_records": int(y.shape[0]),
    }
    out = paths.model("fusion")
    checkpoints.save(ckpt, out)
    summary = {
        "method": "stack",
        "used": choice.used,
        "test_logits": p.test_logits,
        "val": {
            "macro_auc": val_auc[p.test_logits],
            "macro_auc_full": val_auc["full"],
            "macro_auc_bagged": val_auc["bagged"],
        },
        "oof": {"loss_stack": choice.held_out_loss_stack, "loss_best": choice.held_out_loss_best},
    }
    weights = {
        c: {"intercept": choice.intercept[i], **{n: choice.weights[b][i] for b, n in enumerate(names)}}
        for i, c in enumerate(classes)
    }
    with atomic_path(paths.train_logs / "fusion") as tmp:
        tmp.mkdir(parents=True)
        (tmp / "metrics.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
        decision = {**stack, "branches": names, "weights_per_class": weights}
        (tmp / "stack.json").write_text(json.dumps(decision, indent=2, sort_keys=True) + "\n")
    return out
