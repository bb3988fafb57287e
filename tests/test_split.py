"""Splits never share a patient; strat_fold follows the folds; stratified keeps class balance."""

import numpy as np
import pytest

from helpers.sample import SAMPLE
from ptbxl_multimodal.config.sections import Ratios
from ptbxl_multimodal.data.labels import make_labels, read_database, read_statements
from ptbxl_multimodal.data.splits import check_disjoint_patients, split_by_folds, split_stratified, summarize


@pytest.fixture(scope="module")
def sample():
    if not (SAMPLE / "ptbxl_database.csv").is_file():
        pytest.skip("PTB-XL sample missing")
    db = read_database(SAMPLE / "ptbxl_database.csv")
    labels = make_labels(db, read_statements(SAMPLE / "scp_statements.csv"), "superdiagnostic")
    rows = db.loc[labels.ecg_ids]
    return labels, rows["patient_id"].to_numpy(), rows["strat_fold"].to_numpy()


def test_strat_fold_split(sample):
    labels, patients, folds = sample
    split = split_by_folds(folds, list(range(1, 9)), [9], [10])
    assert {k: v.size for k, v in split.items()} == {"train": 57, "val": 14, "test": 20}
    assert set(folds[split["test"]]) == {10}
    check_disjoint_patients(split, patients)


def test_stratified_split_is_patient_disjoint_and_balanced(sample):
    labels, patients, _ = sample
    split = split_stratified(labels.y, patients, Ratios(train=0.7, val=0.15, test=0.15), seed=0)
    check_disjoint_patients(split, patients)
    assert sum(v.size for v in split.values()) == len(patients)
    n = len(patients)
    assert abs(split["train"].size / n - 0.7) < 0.05
    prevalence = labels.y.mean(axis=0)
    for name in ("val", "test"):
        # each class within two records of its share in 15 records (patients stay together, labels overlap)
        assert np.abs(labels.y[split[name]].sum(axis=0) - prevalence * split[name].size).max() < 2.5
    again = split_stratified(labels.y, patients, Ratios(train=0.7, val=0.15, test=0.15), seed=0)
    assert all(np.array_equal(split[k], again[k]) for k in split)


def test_patients_with_many_records_stay_together():
    rng = np.random.default_rng(0)
    patients = np.repeat(np.arange(60), 3)  # every patient has three records
    y = rng.integers(0, 2, (180, 4)).astype(np.uint8)
    split = split_stratified(y, patients, Ratios(train=0.6, val=0.2, test=0.2), seed=1)
    check_disjoint_patients(split, patients)
    summary = summarize(split, y, ["a", "b", "c", "d"], patients)
    assert sum(s["patients"] for s in summary.values()) == 60


def test_overlap_is_detected():
    with pytest.raises(ValueError, match="patient 7 appears in both"):
        check_disjoint_patients({"train": np.array([0]), "test": np.array([1])}, np.array([7, 7]))
