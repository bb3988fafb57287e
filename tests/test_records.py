"""Reading WFDB records: good ones load, every kind of bad one is named with its problem."""

import numpy as np
import pytest

from helpers.records import write_record
from helpers.sample import SAMPLE, needs_sample
from ptbxl_multimodal.data.records import LEADS, read_record
from ptbxl_multimodal.errors import RecordError


def test_reads_a_good_record(tmp_path, ecg_like):
    x = ecg_like(100)
    path = write_record(tmp_path, "good", x, 100)
    signal, fs = read_record(path, expected_fs=100)
    assert fs == 100 and signal.shape == (12, 1000) and signal.dtype == np.float32
    assert np.allclose(signal, x.T, atol=1e-3)


@needs_sample
def test_reads_real_records_including_lowercase_leads_and_comments():
    signal, fs = read_record(SAMPLE / "records100/10000/10429_lr", expected_fs=100)  # aVR spelling, # comments
    assert signal.shape == (12, 1000)
    signal, fs = read_record(SAMPLE / "records500/00000/00001_hr", expected_fs=500)
    assert signal.shape == (12, 5000)


def test_truncated_data_file(tmp_path, ecg_like):
    path = write_record(tmp_path, "trunc", ecg_like(100), 100)
    dat = tmp_path / "trunc.dat"
    dat.write_bytes(dat.read_bytes()[:5000])
    with pytest.raises(RecordError, match="trunc.dat is truncated"):
        read_record(path)


def test_header_points_to_missing_file(tmp_path, ecg_like):
    path = write_record(tmp_path, "orphan", ecg_like(100), 100)
    (tmp_path / "orphan.dat").unlink()
    with pytest.raises(RecordError, match="orphan.dat, which does not exist"):
        read_record(path)


def test_missing_header(tmp_path):
    with pytest.raises(RecordError, match="header .*nothing.hea not found"):
        read_record(tmp_path / "nothing")


def test_wrong_lead_set(tmp_path, ecg_like):
    path = write_record(tmp_path, "eight", ecg_like(100)[:, :8], 100)
    with pytest.raises(RecordError, match="expected the 12 standard leads"):
        read_record(path)


def test_wrong_sampling_rate(tmp_path, ecg_like):
    path = write_record(tmp_path, "rate", ecg_like(250), 250)
    with pytest.raises(RecordError, match="sampling rate 250 Hz, expected 100 Hz"):
        read_record(path, expected_fs=100)


def test_too_short(tmp_path, ecg_like):
    path = write_record(tmp_path, "short", ecg_like(100, seconds=2), 100)
    with pytest.raises(RecordError, match="shorter than the required 10 s"):
        read_record(path, min_seconds=10)


def test_nan_samples(tmp_path, ecg_like):
    x = ecg_like(100)
    x[123, 4] = np.nan  # wfdb stores NaN as the format's invalid-sample marker
    path = write_record(tmp_path, "nan", x, 100)
    with pytest.raises(RecordError, match=f"non-finite value .* lead {LEADS[4]} at sample 123"):
        read_record(path)


def test_garbage_header(tmp_path):
    (tmp_path / "junk.hea").write_text("this is not a header\n")
    with pytest.raises(RecordError, match="unreadable header"):
        read_record(tmp_path / "junk")


@needs_sample
def test_fast_reader_matches_wfdb_on_every_sample_record():
    import wfdb

    from ptbxl_multimodal.data.records import _read_format16

    heads = sorted(SAMPLE.glob("records100/*/*.hea")) + sorted(SAMPLE.glob("records500/*/*.hea"))[:50]
    for hea in heads:
        base = hea.with_suffix("")
        leads, fs, fast = _read_format16(base)
        ref = wfdb.rdrecord(str(base))
        assert fs == ref.fs and leads == tuple(s.upper() for s in ref.sig_name)
        assert np.allclose(fast, ref.p_signal.T, atol=1e-6), base
