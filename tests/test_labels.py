"""SCP-code aggregation for every task, checked by hand against records of the real sample."""

import numpy as np
import pandas as pd
import pytest

from helpers.sample import SAMPLE
from ptbxl_multimodal.data.labels import make_labels, metadata, read_database, read_statements, record_codes
from ptbxl_multimodal.errors import LabelError

# Hand-checked from the sample's ptbxl_database.csv and scp_statements.csv:
#   1: NORM, LVOLT (form), SR (rhythm);   8: IMI (MI/IMI), ABQRS (form), SR
#  39: IMI, LNGQT (STTC/STTC), NST_ (STTC/NST_), DIG (STTC/STTC), ABQRS, SR
# 10429: IMI, LVH (HYP/LVH), ISC_ (STTC/ISC_), ABQRS, SR
EXPECTED = {
    "superdiagnostic": {1: {"NORM"}, 8: {"MI"}, 39: {"MI", "STTC"}, 10429: {"MI", "HYP", "STTC"}},
    "subdiagnostic": {1: {"NORM"}, 8: {"IMI"}, 39: {"IMI", "STTC", "NST_"}, 10429: {"IMI", "LVH", "ISC_"}},
    "diagnostic": {1: {"NORM"}, 8: {"IMI"}, 39: {"IMI", "LNGQT", "NST_", "DIG"}, 10429: {"IMI", "LVH", "ISC_"}},
    "form": {1: {"LVOLT"}, 8: {"ABQRS"}, 39: {"LNGQT", "NST_", "DIG", "ABQRS"}, 10429: {"ABQRS"}},
    "rhythm": {1: {"SR"}, 8: {"SR"}, 39: {"SR"}, 10429: {"SR"}},
    "all": {
        1: {"NORM", "LVOLT", "SR"},
        8: {"IMI", "ABQRS", "SR"},
        39: {"IMI", "LNGQT", "NST_", "DIG", "ABQRS", "SR"},
        10429: {"IMI", "LVH", "ISC_", "ABQRS", "SR"},
    },
}


@pytest.fixture(scope="module")
def tables():
    return read_database(SAMPLE / "ptbxl_database.csv"), read_statements(SAMPLE / "scp_statements.csv")


@pytest.mark.parametrize("task", list(EXPECTED))
def test_hand_checked_records(tables, task):
    db, st = tables
    codes = record_codes(db, st, task)
    for ecg_id, expected in EXPECTED[task].items():
        assert codes[ecg_id] == expected, (task, ecg_id)
    labels = make_labels(db, st, task)
    for ecg_id, expected in EXPECTED[task].items():
        row = labels.y[list(labels.ecg_ids).index(ecg_id)]
        assert {c for c, v in zip(labels.classes, row) if v} == expected


def test_superdiagnostic_counts_of_the_test_sample(tables):
    labels = make_labels(*tables, "superdiagnostic")
    assert labels.classes == ["CD", "HYP", "MI", "NORM", "STTC"]
    counts = dict(zip(labels.classes, labels.y.sum(axis=0).tolist()))
    assert counts == {"NORM": 53, "STTC": 18, "CD": 14, "MI": 14, "HYP": 12}  # tests/data/ptbxl/README.md
    assert len(labels.unlabelled) == 5 and len(labels.ecg_ids) == 96 - 5


def test_min_class_count_drops_rare_classes(tables):
    full = make_labels(*tables, "diagnostic")
    pruned = make_labels(*tables, "diagnostic", min_class_count=20)
    assert set(pruned.classes) < set(full.classes)
    assert all(n > 20 for n in pruned.y.sum(axis=0))


def test_unknown_scp_code_names_the_record(tables):
    db, st = tables
    db = db.copy()
    db.at[8, "scp_codes"] = {"XYZ": 100.0}
    with pytest.raises(LabelError, match=r"record 8: SCP code\(s\) \['XYZ'\] not in scp_statements.csv"):
        make_labels(db, st, "superdiagnostic")


def test_metadata_marks_missing_and_caps_age(tables):
    db, _ = tables
    db = db.copy()
    db.at[1, "age"] = 300.0
    m = metadata(db, np.array([1, 8]))
    assert m.dtype == np.float32 and m.shape == (2, 4)
    assert m[0, 0] == 90.0 and m[1, 0] == 48.0  # 300 means "over 89"
    assert np.isnan(m[0, 2]) and m[0, 3] == 63.0  # height unknown stays NaN


def test_missing_column_and_unreadable_csv(tmp_path):
    pd.DataFrame({"ecg_id": [1], "scp_codes": ["{}"]}).to_csv(tmp_path / "db.csv", index=False)
    with pytest.raises(LabelError, match="missing column.*patient_id"):
        read_database(tmp_path / "db.csv")
    (tmp_path / "bad.csv").write_bytes(b'\xff\xfe\x00garbage\x00\n"unclosed')
    with pytest.raises(LabelError, match="bad.csv"):
        read_database(tmp_path / "bad.csv")
