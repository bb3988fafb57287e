"""Cross-fitting one branch: out-of-fold logits for every training record, for the stacked fusion.

The training records are dealt into K groups: with PTB-XL's strat_fold, consecutive training folds (K=4 over
folds 1-8 pairs them); with the stratified split, patients in K label-stratified parts. For each group the
branch is trained on the other groups (early stopping on the validation split, as for the full model) and
predicts the held-out group, so no record's out-of-fold logit comes from a model that trained on it.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import numpy as np
import torch
from iterstrat.ml_stratifiers import MultilabelStratifiedKFold
from scipy.special import expit

from ptbxl_multimodal import checkpoints
from ptbxl_multimodal.branches import input_files
from ptbxl_multimodal.config.params import BranchParams
from ptbxl_multimodal.config.paths import ProjectPaths
from ptbxl_multimodal.config.sections import CrossfitSettings, SplitSettings
from ptbxl_multimodal.data.loading import LabelTable, SplitData, load_split, read_labels
from ptbxl_multimodal.errors import ParamError, StageError
from ptbxl_multimodal.evaluation.metrics import macro_auc
from ptbxl_multimodal.io import h5store
from ptbxl_multimodal.io.atomic import atomic_path
from ptbxl_multimodal.models.base import BranchModel
from ptbxl_multimodal.models.runtime import predict_logits
from ptbxl_multimodal.signal.input_spec import InputSpec
from ptbxl_multimodal.training.fit_and_save import fit_and_save
from ptbxl_multimodal.training.loop import FitResult
from ptbxl_multimodal.training.train_branch import fit_branch, validation_logits

log = logging.getLogger(__name__)


def crossfit_groups(
    strat_fold: np.ndarray, patient_id: np.ndarray, labels: np.ndarray, split: SplitSettings, k: int
) -> np.ndarray:
    """Group 0..k-1 of each training record (arrays aligned on the training records); patients never straddle
    two groups."""
    if split.method == "strat_fold":
        folds = np.unique(strat_fold)
        if folds.size < k:
            raise ParamError(
                f"crossfit.folds = {k}, but the training split holds {folds.size} strat_fold(s) "
                f"({folds.tolist()}); lower crossfit.folds or add training folds"
            )
        groups = np.empty(strat_fold.size, dtype=np.int64)
        for g, chunk in enumerate(np.array_split(folds, k)):
            groups[np.isin(strat_fold, chunk)] = g
        return check_patient_disjoint(groups, patient_id)
    patients, inverse = np.unique(patient_id, return_inverse=True)
    if patients.size < k:
        raise ParamError(f"crossfit.folds = {k}, but the training split has only {patients.size} patients")
    per_patient = np.zeros((patients.size, labels.shape[1]), dtype=np.uint8)
    np.maximum.at(per_patient, inverse, labels.astype(np.uint8))
    folds = MultilabelStratifiedKFold(n_splits=k, shuffle=True, random_state=split.seed)
    patient_group = np.empty(patients.size, dtype=np.int64)
    for g, (_, held_out) in enumerate(folds.split(np.zeros(patients.size), per_patient)):
        patient_group[held_out] = g
    return check_patient_disjoint(patient_group[inverse], patient_id)


def check_patient_disjoint(groups: np.ndarray, patient_id: np.ndarray) -> np.ndarray:
    """`groups`, after checking that no patient has records in two groups (a fold model would then have seen the
    patient whose out-of-fold logit it gives); StageError naming the patients otherwise."""
    pairs = np.unique(np.stack([patient_id, groups], axis=1), axis=0)
    patients, counts = np.unique(pairs[:, 0], return_counts=True)
    straddling = patients[counts > 1]
    if straddling.size:
        shown = ", ".join(str(p) for p in straddling[:5].tolist()) + (" ..." if straddling.size > 5 else "")
        raise StageError(
            f"cross-fitting groups share {straddling.size} patient(s) (patient_id {shown}): PTB-XL keeps each "
            "patient in one strat_fold; the ptbxl_database.csv in use does not (use the official table, or "
            "split.method: stratified, which groups by patient)"
        )
    return groups


def _subset(data: SplitData, rows: np.ndarray) -> SplitData:
    return SplitData(data.ecg_id[rows], data.y[rows], {n: x[rows] for n, x in data.inputs.items()})


def crossfit_branch(
    name: str, params: BranchParams, split: SplitSettings, settings: CrossfitSettings, paths: ProjectPaths
) -> dict:
    """Train `name` K times, each without one group; write the K fold checkpoints and the out-of-fold logits of
    every training record (data/oof/<name>.h5); return a summary (out-of-fold macro AUC, per-fold epochs)."""
    k = settings.folds
    params = dataclasses.replace(params, training=settings.fold_training(params.training))
    ids = json.loads(paths.split.read_text())
    files = input_files(paths, [name])
    train, val = (load_split(files, ids[s], paths.records) for s in ("train", "val"))
    labels = read_labels(paths.records)
    with h5store.reader(paths.records) as h5:
        rows = np.searchsorted(h5["ecg_id"][...], train.ecg_id)
        strat_fold, patient_id = h5["strat_fold"][...][rows], h5["patient_id"][...][rows]
    groups = crossfit_groups(strat_fold, patient_id, train.y, split, k)
    spec = InputSpec.from_h5(*files[name])
    oof = np.full(train.y.shape, np.nan, dtype=np.float32)
    folds = []
    with atomic_path(paths.fold_models(name)) as fold_dir:
        fold_dir.mkdir(parents=True)
        for g in range(k):
            held_out = groups == g
            fit_on = _subset(train, np.flatnonzero(~held_out))
            log.info("%s fold %d/%d: fit on %d records, predict %d", name, g + 1, k, len(fit_on.y), held_out.sum())
            ckpt = _fit_fold(name, params, fit_on, val, labels, spec, g, fold_dir / f"fold{g}.pt")
            oof[held_out] = _logits(ckpt.model(), train.inputs[name][held_out])
            folds.append({"fold": g, "held_out": int(held_out.sum()), "best_epoch": ckpt.training["best_epoch"]})
    summary = {"branch": name, "folds": k, "oof_macro_auc": macro_auc(train.y, expit(oof)), "per_fold": folds}
    write_oof(paths.oof(name), train.ecg_id, groups, oof, labels.classes, summary)
    log.info("%s: out-of-fold macro AUC on the training split %.4f", name, summary["oof_macro_auc"])
    return summary


def _fit_fold(
    name: str,
    params: BranchParams,
    fit_on: SplitData,
    val: SplitData,
    labels: LabelTable,
    spec: InputSpec,
    group: int,
    out: Path,
) -> checkpoints.BranchCheckpoint:
    """One fold model: fitted without group `group`, selected on validation, saved uncalibrated (the stack
    combines the fold models' raw logits)."""

    def checkpoint(model: BranchModel, result: FitResult) -> checkpoints.BranchCheckpoint:
        training = {**result.record(params.training), "train_records": len(fit_on.y), "held_out_group": group}
        return checkpoints.BranchCheckpoint.of(
            name, model, params.architecture, labels.classes, labels.task, spec, training
        )

    ckpt = fit_and_save(
        lambda live: fit_branch(name, params, fit_on, val, len(labels.classes), spec, live),
        checkpoint,
        lambda c: validation_logits(c, val.inputs[name]),
        val.y,
        "none",
        out,
    )
    assert ckpt is not None  # cross-fitting runs in one process
    return ckpt


def _logits(model: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    return predict_logits(lambda b: model(b["x"]), {"x": torch.from_numpy(x)}, 256, torch.device("cpu")).numpy()


def write_oof(
    path: Path, ecg_id: np.ndarray, groups: np.ndarray, logits: np.ndarray, classes: list[str], summary: dict
) -> None:
    """data/oof/<branch>.h5: ecg_id, group and out-of-fold logits (n, C) of the training records."""
    with atomic_path(path) as tmp, h5store.writer(tmp) as h5:
        h5store.write_small(h5, "ecg_id", ecg_id.astype(np.int64))
        h5store.write_small(h5, "group", groups.astype(np.int64))
        h5store.write_small(h5, "logits", logits.astype(np.float32))
        h5store.set_attrs(h5, {"classes": list(classes), "summary": summary})


def read_oof(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """ecg_id, group, out-of-fold logits and class names of one branch's cross-fitting."""
    with h5store.reader(path) as h5:
        return h5["ecg_id"][...], h5["group"][...], h5["logits"][...], h5store.get_attr(h5, "classes")
