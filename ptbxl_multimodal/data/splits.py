"""Train / validation / test splits that never put one patient in two splits."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from iterstrat.ml_stratifiers import MultilabelStratifiedShuffleSplit

from ptbxl_multimodal.config.sections import SPLITS, Ratios, SplitSettings
from ptbxl_multimodal.errors import StageError
from ptbxl_multimodal.io import h5store

log = logging.getLogger(__name__)


def split_by_folds(
    strat_fold: np.ndarray, train_folds: list[int], val_folds: list[int], test_folds: list[int]
) -> dict[str, np.ndarray]:
    """Row indices per split from PTB-XL's strat_fold (which already keeps each patient in one fold)."""
    folds = {"train": train_folds, "val": val_folds, "test": test_folds}
    return {name: np.flatnonzero(np.isin(strat_fold, f)) for name, f in folds.items()}


def split_stratified(labels: np.ndarray, patient_id: np.ndarray, ratios: Ratios, seed: int) -> dict[str, np.ndarray]:
    """Multi-label iterative stratification over patients (a patient's labels: the union over its records).

    Patients, not records, are assigned, so no patient appears in two splits.
    """
    patients, inverse = np.unique(patient_id, return_inverse=True)
    if patients.size < 3:
        raise ValueError(f"stratified split needs at least 3 patients, got {patients.size}")
    per_patient = np.zeros((patients.size, labels.shape[1]), dtype=np.uint8)
    np.maximum.at(per_patient, inverse, labels)
    holdout = ratios.val + ratios.test
    first = MultilabelStratifiedShuffleSplit(n_splits=1, test_size=holdout, random_state=seed)
    train_p, rest_p = next(first.split(np.zeros(patients.size), per_patient))
    second = MultilabelStratifiedShuffleSplit(n_splits=1, test_size=ratios.test / holdout, random_state=seed)
    val_r, test_r = next(second.split(np.zeros(rest_p.size), per_patient[rest_p]))
    groups = {"train": train_p, "val": rest_p[val_r], "test": rest_p[test_r]}
    return {name: np.flatnonzero(np.isin(inverse, g)) for name, g in groups.items()}


def check_disjoint_patients(split: dict[str, np.ndarray], patient_id: np.ndarray) -> None:
    """Raise if any patient has records in two splits."""
    seen: dict[int, str] = {}
    for name, rows in split.items():
        for pid in np.unique(patient_id[rows]):
            if seen.setdefault(int(pid), name) != name:
                raise ValueError(f"patient {pid} appears in both '{seen[int(pid)]}' and '{name}'")


def summarize(
    split: dict[str, np.ndarray], labels: np.ndarray, classes: list[str], patient_id: np.ndarray
) -> dict[str, dict]:
    """Records, patients and class counts per split."""
    return {
        name: {
            "records": int(rows.size),
            "patients": int(np.unique(patient_id[rows]).size),
            "class_counts": {c: int(n) for c, n in zip(classes, labels[rows].sum(axis=0))},
        }
        for name, rows in split.items()
    }


def make_split(records: Path, settings: SplitSettings) -> tuple[dict[str, list[int]], dict]:
    """ecg ids per split (ascending) and the split summary, from records.h5; raises StageError for a split
    that would leak a patient or that is empty."""
    with h5store.reader(records) as h5:
        ecg_id, patient_id, strat_fold = (h5[k][...] for k in ("ecg_id", "patient_id", "strat_fold"))
        labels, classes = h5["labels"][...], h5store.get_attr(h5["labels"], "classes")
    if settings.method == "strat_fold":
        split = split_by_folds(strat_fold, settings.train_folds, settings.val_folds, settings.test_folds)
    else:
        split = split_stratified(labels, patient_id, settings.ratios, settings.seed)
    try:
        check_disjoint_patients(split, patient_id)
    except ValueError as exc:
        raise StageError(
            f"{exc}: the split would leak a patient between splits. With strat_fold this means "
            "ptbxl_database.csv puts one patient in two folds; use split.method: stratified"
        ) from None
    for name in SPLITS:
        if split[name].size == 0:
            raise StageError(
                f"split '{name}' is empty with split.method = {settings.method}; check "
                f"split.{name}_folds (strat_fold takes values 1-10) or split.ratios"
            )
    unused = ecg_id.size - sum(rows.size for rows in split.values())
    summary = {
        "method": settings.method,
        "unassigned_records": int(unused),
        **summarize(split, labels, classes, patient_id),
    }
    log.info(
        "split (%s): %s; %d records in no split",
        settings.method,
        ", ".join(f"{n} {split[n].size}" for n in SPLITS),
        unused,
    )
    return {name: ecg_id[np.sort(rows)].tolist() for name, rows in split.items()}, summary
