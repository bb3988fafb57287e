"""What predict accepts before any model runs: metadata files and values, record paths, output files."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers.sample import SAMPLE
from ptbxl_multimodal.data.metadata import metadata_for
from ptbxl_multimodal.errors import PipelineError
from ptbxl_multimodal.predict.cli import main as predict

RECORDS = [Path("x/00001_lr"), Path("x/00002_hr"), Path("x/custom")]


def csv(tmp_path, rows, name="meta.csv"):
    path = tmp_path / name
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_rows_match_by_ecg_id_whatever_the_rate(tmp_path):
    path = csv(
        tmp_path,
        [
            {"record": "00001_hr", "age": 60, "sex": 1},
            {"record": "00002_lr", "weight": 80},
            {"record": "custom.hea", "height": 170},
        ],
    )
    table = metadata_for(RECORDS, path, {})
    np.testing.assert_array_equal(table[0][:2], [60, 1])
    assert table[1][3] == 80 and table[2][2] == 170 and np.isnan(table[0][2])


def test_ptbxl_database_csv_is_a_metadata_file():
    table = metadata_for([Path("new/00001_lr"), Path("new/00002_hr")], SAMPLE / "ptbxl_database.csv", {})
    db = pd.read_csv(SAMPLE / "ptbxl_database.csv", index_col="ecg_id")
    assert table[0][0] == db.at[1, "age"] and table[1][1] == db.at[2, "sex"]


@pytest.mark.parametrize(
    "rows,message",
    [
        ([{"record": "00001_lr", "weight": "70kg"}], "record 1, weight = '70kg': not a number (kg)"),
        ([{"record": "00001_lr", "age": 50}, {"record": "00001_hr", "age": 51}], "record 1: listed 2 times"),
        ([{"record": "00001_lr", "age": -30}], "record 1, age = -30: impossible (years)"),
        ([{"record": "00001_lr", "sex": 5}], "record 1, sex = 5: impossible (0 male, 1 female)"),
        ([{"record": "00001_lr", "weight": 70000}], "record 1, weight = 70000: impossible (kg)"),
        ([{"name": "00001_lr", "age": 3}], "needs a 'record' column"),
    ],
)
def test_bad_metadata_files_are_refused_by_row(tmp_path, rows, message):
    with pytest.raises(PipelineError) as err:
        metadata_for(RECORDS, csv(tmp_path, rows), {})
    assert message in str(err.value)


@pytest.mark.parametrize("option,value", [("age", -30.0), ("weight", 70000.0), ("sex", 5.0), ("height", float("nan"))])
def test_impossible_command_line_metadata_is_refused(option, value):
    with pytest.raises(PipelineError, match=f"--{option} {value:g}: impossible"):
        metadata_for(RECORDS, None, {option: value})


def test_outputs_are_checked_before_any_work(tmp_path, caplog):
    for option in ("--json", "--csv"):
        status = predict(["whatever", option, str(tmp_path / "no/such/folder/out.x"), "--models", str(tmp_path)])
        assert status == 2
        assert (
            f"{option} {tmp_path}/no/such/folder/out.x: folder {tmp_path}/no/such/folder does not exist" in caplog.text
        )


def test_a_path_that_does_not_exist_is_reported_once(tmp_path, caplog, capsys):
    status = predict([str(tmp_path / "nowhere"), "--json", str(tmp_path / "p.json")])
    assert status == 1
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "nowhere: no such record" in errors[0].getMessage()
    assert "download" not in errors[0].getMessage()


def test_help_names_the_command_and_the_units(capsys):
    with pytest.raises(SystemExit):
        predict(["--help"])
    text = capsys.readouterr().out
    assert text.startswith("usage: ptbxl-predict") and "0 male, 1 female" in text and "(cm)" in text


@pytest.mark.parametrize("value", ["nan", "0", "1.5", "half"])
def test_threshold_must_be_a_probability(value, capsys):
    with pytest.raises(SystemExit) as exit_:
        predict(["x", "--threshold", value])
    assert exit_.value.code == 2 and "give a probability between 0 and 1" in capsys.readouterr().err
