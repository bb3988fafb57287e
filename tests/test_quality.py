"""Signal quality: flat, dropped-out and saturated leads are named; real ECGs pass."""

import json
import shutil

import h5py
import numpy as np
import pytest

from helpers import settings
from helpers.records import LEADS, write_record
from helpers.sample import SAMPLE
from ptbxl_multimodal.data.processed_files import preprocess
from ptbxl_multimodal.data.records import read_record
from ptbxl_multimodal.errors import RecordError
from ptbxl_multimodal.signal.quality import QualitySettings, longest_constant_runs, quality_problems

CHECKS = QualitySettings(action="skip", min_amplitude_mv=0.05, max_flat_seconds=1.0, max_clipped_fraction=0.05)


def problems(x, fs=100):
    return quality_problems(x, fs, CHECKS, tuple(LEADS))


def test_flat_dropout_and_clipped_leads_are_named(ecg_like):
    x = ecg_like(100).T.copy()  # (12, 1000)
    assert problems(x) == []
    assert problems(np.zeros_like(x))[0] == "lead I is flat (spans 0.000 mV)" and len(problems(np.zeros_like(x))) == 12
    dropout = x.copy()
    dropout[3, 200:400] = dropout[3, 200]  # 2 s of one value: a lead fell off
    assert problems(dropout) == ["lead AVR is constant for 2.0 s (a dropout)"]
    clipped = x.copy()
    clipped[7] = np.clip(clipped[7] * 4, -0.5, 0.5)  # an amplifier at its rails
    assert len(problems(clipped)) == 1 and problems(clipped)[0].startswith("lead V2 is clipped (")


def test_longest_constant_runs_per_lead():
    x = np.array([[1, 1, 2, 2, 2, 3], [5, 5, 5, 5, 5, 5], [1, 2, 3, 4, 5, 6], [0, 1, 1, 0, 0, 0]], float)
    assert longest_constant_runs(x).tolist() == [3, 6, 1, 3]
    assert longest_constant_runs(np.zeros((2, 1))).tolist() == [1, 1]


@pytest.mark.parametrize("rate", [100, 500])
def test_no_real_sample_record_is_flagged(rate):
    folder = "records100" if rate == 100 else "records500"
    flagged = {}
    for hea in sorted(SAMPLE.glob(f"{folder}/*/*.hea")):
        x, fs = read_record(hea.with_suffix(""))
        if found := quality_problems(x, fs, CHECKS, tuple(LEADS)):
            flagged[hea.stem] = found
    assert flagged == {}


@pytest.fixture
def raw(mini_mirror, tmp_path):
    dest = tmp_path / "raw"
    shutil.copytree(mini_mirror, dest)
    folder = dest / "records100/00000"
    for ext in ("hea", "dat"):
        (folder / f"00004_lr.{ext}").unlink()
    write_record(folder, "00004_lr", np.zeros((1000, 12)), 100)  # a flat line: a valid WFDB record
    return dest


def run(raw, out, action):
    quality = QualitySettings(action, 0.05, 1.0, 0.05)
    params = settings.preprocess(settings.filters(100, bandpass=(0.5, 45.0, 3)), workers=1, quality=quality)
    return preprocess(raw, out, params, 100)


def test_preprocess_skips_errors_or_keeps_a_flat_record_as_told(raw, tmp_path):
    run(raw, tmp_path / "skip", "skip")
    listed = json.loads((tmp_path / "skip/report.json").read_text())["low_quality"]
    assert (
        listed["count"] == 1
        and listed["records"][0]["ecg_id"] == 4
        and "lead I is flat" in listed["records"][0]["problem"]
    )
    with h5py.File(tmp_path / "skip/signals.h5") as h5:
        assert 4 not in h5["ecg_id"][...]
    with pytest.raises(RecordError, match=r"00004_lr: unusable signal: lead I is flat.*preprocess.quality.action"):
        run(raw, tmp_path / "error", "error")
    run(raw, tmp_path / "keep", "keep")
    assert json.loads((tmp_path / "keep/report.json").read_text())["low_quality"]["count"] == 1
    with h5py.File(tmp_path / "keep/signals.h5") as h5:
        assert 4 in h5["ecg_id"][...] and json.loads(h5.attrs["quality"])["action"] == "keep"
