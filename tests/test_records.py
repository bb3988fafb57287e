"""Reading WFDB records: good ones load, every kind of bad one is named with its problem."""

import numpy as np
import pytest

from helpers.records import write_record
from helpers.sample import SAMPLE
from ptbxl_multimodal.data.records import LEADS, read_ecg, read_record
from ptbxl_multimodal.errors import RecordError


def test_reads_a_good_record(tmp_path, ecg_like):
    x = ecg_like(100)
    path = write_record(tmp_path, "good", x, 100)
    signal, fs = read_record(path, expected_fs=100)
    assert fs == 100 and signal.shape == (12, 1000) and signal.dtype == np.float32
    assert np.allclose(signal, x.T, atol=1e-3)


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
    with pytest.raises(RecordError, match="lead.s. V3, V4, V5, V6 missing: the model needs the 12 standard leads"):
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


def test_fast_reader_matches_wfdb_on_every_sample_record():
    import wfdb

    from ptbxl_multimodal.data.records import _Format16

    heads = sorted(SAMPLE.glob("records100/*/*.hea")) + sorted(SAMPLE.glob("records500/*/*.hea"))[:50]
    for hea in heads:
        base = hea.with_suffix("")
        fast = _Format16.open(base)
        _, signal = fast.block(0, fast.n)
        ref = wfdb.rdrecord(str(base))
        assert fast.fs == ref.fs and fast.leads == tuple(ref.sig_name) and fast.units == ref.units
        assert np.allclose(signal, ref.p_signal.T, atol=1e-6), base


def _copy_sample_record(tmp_path, ecg_id=1):
    import shutil

    for ext in ("hea", "dat"):
        shutil.copy(SAMPLE / f"records100/00000/{ecg_id:05d}_lr.{ext}", tmp_path / f"{ecg_id:05d}_lr.{ext}")
    return tmp_path / f"{ecg_id:05d}_lr"


@pytest.mark.parametrize("unit,factor", [("uV", 1e-3), ("V", 1e3), ("mV", 1.0)])
def test_header_units_are_converted_to_millivolts(tmp_path, unit, factor):
    """The same stored numbers mean 1000x less in uV: the reader must say so in mV (fast path and wfdb path)."""
    reference, _ = read_record(SAMPLE / "records100/00000/00001_lr")
    base = _copy_sample_record(tmp_path)
    hea = base.with_suffix(".hea")
    hea.write_text(hea.read_text().replace("/mV", f"/{unit}"))
    signal, _ = read_record(base)
    np.testing.assert_allclose(signal, reference * factor, rtol=1e-6)
    # a header wfdb must parse (a comment-free, padded byte offset forces the careful path) agrees
    hea.write_text(hea.read_text().replace("00001_lr.dat 16 ", "00001_lr.dat 16+0 "))
    signal, _ = read_record(base)
    np.testing.assert_allclose(signal, reference * factor, rtol=1e-6)


def test_unknown_units_are_refused(tmp_path):
    base = _copy_sample_record(tmp_path)
    hea = base.with_suffix(".hea")
    hea.write_text(hea.read_text().replace("/mV", "/mmHg"))
    with pytest.raises(RecordError, match="units 'mmHg'; only uV, mV and V are supported"):
        read_record(base)


@pytest.mark.parametrize(
    "corrupt,message",
    [
        (lambda dat: dat.write_bytes(dat.read_bytes() + b"\0" * 24), "longer than its header says"),
        (lambda dat: dat.write_bytes(dat.read_bytes()[:-24]), "truncated"),
        (lambda dat: dat.write_bytes(dat.read_bytes()[2:] + b"\0\0"), "do not match the header's checksum"),
    ],
    ids=["longer", "shorter", "shifted"],
)
def test_header_and_data_must_agree(tmp_path, corrupt, message):
    base = _copy_sample_record(tmp_path)
    corrupt(base.with_suffix(".dat"))
    with pytest.raises(RecordError, match=message):
        read_record(base)


def test_data_of_another_record_is_caught(tmp_path):
    """Same size, same format, another record's samples: only the checksums can tell."""
    import shutil

    base = _copy_sample_record(tmp_path, 1)
    shutil.copy(SAMPLE / "records100/00000/00002_lr.dat", base.with_suffix(".dat"))
    with pytest.raises(RecordError, match="checksum|first sample"):
        read_record(base)


def test_leads_are_read_by_name_in_any_order_and_extra_leads_are_set_aside(tmp_path):
    """A cart that stores V6..I with aVR spelt its own way, or adds the Frank leads, reads back exactly."""
    from helpers import variants

    base = variants.original(1)
    reference = read_ecg(base)
    assert reference.ignored_leads == []
    shuffled = read_ecg(variants.reordered(base, tmp_path, [11, 3, 0, 7, 1, 10, 2, 4, 9, 5, 8, 6]))
    np.testing.assert_array_equal(shuffled.signal, reference.signal)
    fifteen = read_ecg(variants.fifteen_leads(base, tmp_path))
    np.testing.assert_array_equal(fifteen.signal, reference.signal)
    assert fifteen.ignored_leads == ["vx", "vy", "vz"]
    micro = read_ecg(variants.in_microvolts(base, tmp_path))
    np.testing.assert_array_equal(micro.signal, reference.signal)  # exactly: the same samples, in other words


@pytest.mark.parametrize(
    "names,message",
    [
        (["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "vx"], r"lead\(s\) V6 missing"),
        (["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6", "v6"], r"lead\(s\) V6 repeated"),
    ],
    ids=["missing", "repeated"],
)
def test_a_missing_or_ambiguous_lead_is_named(tmp_path, ecg_like, names, message):
    x = ecg_like(100)
    path = write_record(tmp_path, "odd", np.concatenate([x, x[:, :1]], axis=1)[:, : len(names)], 100, names)
    with pytest.raises(RecordError, match=message):
        read_record(path)


def test_a_fractional_sampling_rate_is_refused(tmp_path, ecg_like):
    path = write_record(tmp_path, "frac", ecg_like(100), 100)
    hea = path.with_suffix(".hea")
    hea.write_text(hea.read_text().replace(" 100 1000", " 128.5 1000", 1))
    with pytest.raises(RecordError, match="128.5 Hz is not a whole number"):
        read_record(path)
