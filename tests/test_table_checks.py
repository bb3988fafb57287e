"""ptbxl_database.csv is checked once, up front: every problem named with its ecg_id, column and value."""

import json
import shutil

import h5py
import numpy as np
import pandas as pd
import pytest

from helpers import settings
from helpers.sample import write_checksums
from ptbxl_multimodal.data.fetch import fetch_ptbxl
from ptbxl_multimodal.data.processed_files import preprocess
from ptbxl_multimodal.errors import LabelError


@pytest.fixture
def raw(mini_mirror, tmp_path):
    dest = tmp_path / "raw"
    shutil.copytree(mini_mirror, dest)
    return dest


def edit_table(raw, change):
    db = pd.read_csv(raw / "ptbxl_database.csv")
    db = change(db)
    db.to_csv(raw / "ptbxl_database.csv", index=False)
    write_checksums(raw)


def run(raw, out, **changes):
    params = settings.preprocess(settings.filters(100, bandpass=(0.5, 45.0, 3)), workers=1, **changes)
    return preprocess(raw, out, params, 100)


def test_every_structural_problem_is_listed_at_once_before_any_signal_work(raw, tmp_path):
    def break_it(db):
        db = pd.concat([db, db[db["ecg_id"] == 5]])  # a duplicated row
        db["weight"] = db["weight"].astype(object)
        db.loc[db["ecg_id"] == 3, "weight"] = "70kg"
        db.loc[db["ecg_id"] == 6, "strat_fold"] = np.nan
        db.loc[db["ecg_id"] == 7, "strat_fold"] = 0
        db.loc[db["ecg_id"] == 8, "strat_fold"] = 11
        return db

    edit_table(raw, break_it)
    with pytest.raises(LabelError) as err:
        run(raw, tmp_path / "p")
    message = str(err.value)
    for expected in (
        "ecg_id 5: listed 2 times",
        "ecg_id 3, weight = '70kg': not a number",
        "ecg_id 6, strat_fold = empty: must be an integer 1-10",
        "ecg_id 7, strat_fold = 0",
        "ecg_id 8, strat_fold = 11",
        "filename_lr = 'records100/00000/00005_lr': shared by ecg_id 5, 5",
    ):
        assert expected in message
    assert not (tmp_path / "p").exists() or not list((tmp_path / "p").iterdir())  # nothing written


def test_download_stops_on_a_broken_table_before_fetching_records(raw, serve, tmp_path):
    edit_table(raw, lambda db: pd.concat([db, db[db["ecg_id"] == 5]]))
    server = serve(raw)
    with pytest.raises(LabelError, match="(?s)ptbxl_database.csv: .*ecg_id 5: listed 2 times"):
        fetch_ptbxl(settings.download(server.url, 100, workers=4), tmp_path / "out")
    assert not any(r.endswith(".dat") for r in server.requests)


def test_implausible_measurements_become_missing_and_are_listed(raw, tmp_path):
    def odd(db):
        db.loc[db["ecg_id"] == 2, "age"] = -4
        db.loc[db["ecg_id"] == 4, "height"] = 600
        db.loc[db["ecg_id"] == 9, "sex"] = 5
        return db

    edit_table(raw, odd)
    run(raw, tmp_path / "p")
    report = json.loads((tmp_path / "p/report.json").read_text())["implausible_metadata_set_missing"]
    assert report["values"] == [
        {"ecg_id": 2, "column": "age", "value": -4.0},
        {"ecg_id": 4, "column": "height", "value": 600.0},
        {"ecg_id": 9, "column": "sex", "value": 5.0},
    ]
    with h5py.File(tmp_path / "p/records.h5") as h5:
        rows = dict(zip(h5["ecg_id"][...].tolist(), h5["metadata"][...]))
    assert np.isnan(rows[2][0]) and np.isnan(rows[4][2]) and np.isnan(rows[9][1])
    with pytest.raises(
        LabelError, match=r"(?s)ecg_id 2, age = -4: implausible.*ecg_id 4, height = 600.*implausible_metadata"
    ):
        run(raw, tmp_path / "q", implausible_metadata="error")
