"""Train / validation / test splits that never put one patient in two splits."""

from __future__ import annotations

import numpy as np
from iterstrat.ml_stratifiers import MultilabelStratifiedShuffleSplit

SPLITS = ("train", "val", "test")


def split_by_folds(strat_fold: np.ndarray, train_folds: list[int], val_folds: list[int],
                   test_folds: list[int]) -> dict[str, np.ndarray]:
    """Row indices per split from PTB-XL's strat_fold (which already keeps each patient in one fold)."""
    folds = {"train": train_folds, "val": val_folds, "test": test_folds}
    return {name: np.flatnonzero(np.isin(strat_fold, f)) for name, f in folds.items()}


def split_stratified(labels: np.ndarray, patient_id: np.ndarray, ratios: dict[str, float],
                     seed: int) -> dict[str, np.ndarray]:
    """Multi-label iterative stratification over patients (a patient's labels: the union over its records).

    Patients, not records, are assigned, so no patient appears in two splits.
    """
    patients, inverse = np.unique(patient_id, return_inverse=True)
    if patients.size < 3:
        raise ValueError(f"stratified split needs at least 3 patients, got {patients.size}")
    per_patient = np.zeros((patients.size, labels.shape[1]), dtype=np.uint8)
    np.maximum.at(per_patient, inverse, labels)
    holdout = ratios["val"] + ratios["test"]
    first = MultilabelStratifiedShuffleSplit(n_splits=1, test_size=holdout, random_state=seed)
    train_p, rest_p = next(first.split(np.zeros(patients.size), per_patient))
    second = MultilabelStratifiedShuffleSplit(n_splits=1, test_size=ratios["test"] / holdout, random_state=seed)
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


def summarize(split: dict[str, np.ndarray], labels: np.ndarray, classes: list[str],
              patient_id: np.ndarray) -> dict[str, dict]:
    """Records, patients and class counts per split."""
    return {
        name: {
            "records": int(rows.size),
            "patients": int(np.unique(patient_id[rows]).size),
            "class_counts": {c: int(n) for c, n in zip(classes, labels[rows].sum(axis=0))},
        }
        for name, rows in split.items()
    }
