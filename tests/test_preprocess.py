"""The preprocess and features stages on real records: contents, determinism, 500 Hz input, bad records."""

import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from helpers import settings
from ptbxl_multimodal.data.feature_files import featurize
from ptbxl_multimodal.data.processed_files import preprocess
from ptbxl_multimodal.data.records import read_record
from ptbxl_multimodal.errors import LabelError, RecordError
from ptbxl_multimodal.predict.inference import signal_inputs
from ptbxl_multimodal.signal.input_spec import InputSpec

SETTINGS = settings.filters(100, bandpass=(0.5, 45.0, 3))


@pytest.fixture
def raw(mini_mirror, tmp_path):
    dest = tmp_path / "raw"
    shutil.copytree(mini_mirror, dest)
    return dest


def run(raw, out, filters=SETTINGS, source_fs=100, **changes):
    """preprocess with the committed settings, 2 workers, chunks of 4 records, and `changes`."""
    params = settings.preprocess(filters, **{"task": "superdiagnostic", "workers": 2, "chunk_size": 4, **changes})
    return preprocess(raw, out, params, source_fs)


def test_outputs_and_contents(raw, tmp_path):
    report = run(raw, tmp_path / "p")
    with h5py.File(tmp_path / "p/signals.h5") as h5:
        assert h5["signals"].shape == (report.written, 12, 1000)
        assert h5["signals"].chunks == (1, 12, 1000)
        assert h5.attrs["fs"] == 100 and h5.attrs["source_fs"] == 100
        ids = h5["ecg_id"][...]
    with h5py.File(tmp_path / "p/records.h5") as h5:
        assert np.array_equal(h5["ecg_id"][...], ids) and np.all(np.diff(ids) > 0)
        assert json.loads(h5["labels"].attrs["classes"]) == report.classes
        assert h5["labels"].dtype == np.uint8 and h5["metadata"].shape == (len(ids), 4)
        assert set(h5["strat_fold"][...]) <= set(range(1, 11))
    saved = json.loads((tmp_path / "p/report.json").read_text())
    db = pd.read_csv(raw / "ptbxl_database.csv")
    assert saved["records_written"] + saved["unlabelled"]["count"] == len(db)


def test_deterministic_bytes(raw, tmp_path):
    run(raw, tmp_path / "a")
    run(raw, tmp_path / "b", workers=1)  # also independent of the number of workers
    for name in ("signals.h5", "records.h5", "report.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_500hz_source_resampled_to_100hz_matches_100hz_source(raw, tmp_path):
    run(raw, tmp_path / "lr")
    run(raw, tmp_path / "hr", source_fs=500)
    with h5py.File(tmp_path / "lr/signals.h5") as a, h5py.File(tmp_path / "hr/signals.h5") as b:
        assert b["signals"].shape == a["signals"].shape and b.attrs["source_fs"] == 500
        x, y = a["signals"][0, :, 100:-100], b["signals"][0, :, 100:-100]
        # PTB-XL's 100 Hz files are themselves downsampled from the 500 Hz ones
        assert np.corrcoef(x.ravel(), y.ravel())[0, 1] > 0.98


def test_upsampling_to_250hz(raw, tmp_path):
    run(raw, tmp_path / "p", filters=settings.filters(250, bandpass=(0.5, 45.0, 4)))
    with h5py.File(tmp_path / "p/signals.h5") as h5:
        assert h5["signals"].shape[2] == 2500 and h5.attrs["fs"] == 250


def test_corrupt_record_stops_the_stage_naming_it(raw, tmp_path):
    dat = raw / "records100/00000/00009_lr.dat"
    dat.write_bytes(dat.read_bytes()[:1000])
    with pytest.raises(RecordError, match=r"00009_lr.*truncated.*skip_bad_records"):
        run(raw, tmp_path / "p")
    assert not (tmp_path / "p/signals.h5").exists()
    assert not list((tmp_path / "p").glob(".*tmp*"))


def test_skip_bad_records_lists_them(raw, tmp_path):
    dat = raw / "records100/00000/00009_lr.dat"
    dat.write_bytes(dat.read_bytes()[:1000])
    report = run(raw, tmp_path / "p", skip_bad_records=True)
    saved = json.loads((tmp_path / "p/report.json").read_text())
    assert saved["skipped"]["count"] == 1 and saved["skipped"]["records"][0]["ecg_id"] == 9
    with h5py.File(tmp_path / "p/signals.h5") as h5:
        assert 9 not in h5["ecg_id"][...] and h5["signals"].shape[0] == report.written


def test_unknown_scp_code_and_missing_column(raw, tmp_path):
    db = pd.read_csv(raw / "ptbxl_database.csv")
    db.loc[0, "scp_codes"] = "{'NOTACODE': 100.0}"
    db.to_csv(raw / "ptbxl_database.csv", index=False)
    with pytest.raises(LabelError, match="record 1: SCP code"):
        run(raw, tmp_path / "p")
    db.drop(columns=["weight"]).to_csv(raw / "ptbxl_database.csv", index=False)
    with pytest.raises(LabelError, match="missing column.*weight"):
        run(raw, tmp_path / "p")


def test_features_axes_and_determinism(raw, tmp_path):
    run(raw, tmp_path / "p")
    fft_s, spec_s = settings.fft(log=True, max_freq=40.0), settings.spectrogram(nperseg=64, noverlap=48, phase=False)
    for out in ("a", "b"):
        featurize(
            tmp_path / "p/signals.h5",
            tmp_path / out / "fft.h5",
            tmp_path / out / "spec.h5",
            settings.features(fft_s, spec_s, workers=2 if out == "a" else 1, chunk_size=3),
        )
    for name in ("fft.h5", "spec.h5"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    with (
        h5py.File(tmp_path / "a/fft.h5") as f,
        h5py.File(tmp_path / "a/spec.h5") as s,
        h5py.File(tmp_path / "p/signals.h5") as sig,
    ):
        n = sig["signals"].shape[0]
        freqs = f["frequency_hz"][...]
        assert f["fft"].shape == (n, 12, freqs.size) and freqs[-1] <= 40.0 and freqs[1] == pytest.approx(0.1)
        assert s["spectrogram"].shape == (n, 12, s["frequency_hz"].size, s["time_s"].size)
        assert s["frequency_hz"][1] == pytest.approx(100 / 64)
        assert np.array_equal(f["ecg_id"][...], sig["ecg_id"][...])
        assert json.loads(f.attrs["fft"])["max_freq"] == 40.0 and json.loads(s.attrs["spectrogram"])["nperseg"] == 64


def test_phase_spectrogram_written_and_rebuilt_for_prediction(raw, tmp_path):
    """With phase, spectrogram.h5 has 36 channels, and predict's inputs (from the checkpoint's input spec) match."""
    run(raw, tmp_path / "p")
    spec_s = settings.spectrogram(nperseg=64, noverlap=48, phase=True)
    featurize(
        tmp_path / "p/signals.h5",
        tmp_path / "f/fft.h5",
        tmp_path / "f/spec.h5",
        settings.features(spec_settings=spec_s, workers=1, chunk_size=4),
    )
    spec = InputSpec.from_h5(tmp_path / "f/spec.h5", "spectrogram")
    assert spec.shape[0] == 36 and spec.spectrogram.phase is True
    assert InputSpec.from_dict(spec.to_dict()) == spec
    with h5py.File(tmp_path / "f/spec.h5") as s, h5py.File(tmp_path / "p/signals.h5") as sig:
        stored, ecg_id = s["spectrogram"][:2], sig["ecg_id"][:2]
    x = np.stack([read_record(raw / f"records100/00000/{e:05d}_lr")[0] for e in ecg_id])
    rebuilt = signal_inputs(x, 100, {"spec": spec})["spec"]
    assert np.allclose(rebuilt, stored, atol=1e-3)


def test_wrong_number_of_samples_is_named(raw, tmp_path, ecg_like):
    from helpers.records import write_record

    folder = raw / "records100" / "00000"
    for ext in ("hea", "dat"):
        (folder / f"00004_lr.{ext}").unlink()
    write_record(folder, "00004_lr", ecg_like(100, seconds=5), 100)  # 5 s instead of 10 s
    with pytest.raises(RecordError, match=r"00004_lr.*500 samples per lead, expected 1000"):
        run(raw, tmp_path / "p")


def test_missing_age_stays_missing_for_training_and_predict_alike(raw, tmp_path):
    """A blank age is missing (NaN, seen by the meta branch's indicator), PTB-XL's 300 means 90, in both paths."""
    import torch

    from ptbxl_multimodal.data.metadata import metadata_for
    from ptbxl_multimodal.models.meta_mlp import MetaMLP

    db = pd.read_csv(raw / "ptbxl_database.csv")
    db.loc[db["ecg_id"] == 1, "age"] = np.nan
    db.loc[db["ecg_id"] == 2, "age"] = 300
    db.to_csv(raw / "ptbxl_database.csv", index=False)
    run(raw, tmp_path / "p")
    with h5py.File(tmp_path / "p/records.h5") as h5:
        rows = dict(zip(h5["ecg_id"][...].tolist(), h5["metadata"][...]))
    assert np.isnan(rows[1][0]) and rows[2][0] == 90.0 and not np.isnan(rows[1][1])  # sex known

    table = db.set_index("ecg_id").loc[[1, 2], ["age", "sex", "height", "weight"]]
    table.insert(0, "record", ["00001_lr", "00002_lr"])
    table.to_csv(tmp_path / "meta.csv", index=False)
    for_predict = metadata_for([Path("new/00001_lr"), Path("new/00002_lr")], tmp_path / "meta.csv", {})
    np.testing.assert_array_equal(for_predict, np.stack([rows[1], rows[2]]))

    model = MetaMLP((4,), 2, hidden=[4], embedding_dim=4, dropout=0.0).eval()
    seen = []
    model.mlp.register_forward_hook(lambda module, args, out: seen.append(args[0]))
    model(torch.from_numpy(np.stack([rows[1], rows[2]])))
    indicators = seen[0][:, 4:]  # [standardised values | missing-value indicators]
    assert indicators[0, 0] == 1 and indicators[1, 0] == 0


def test_records_the_download_left_out_are_reported_not_dropped(raw, tmp_path):
    """With download.allow_missing, the tree lists what the source lacked; preprocess leaves those out, saying so."""
    for eid in (19, 20):
        for ext in ("hea", "dat"):
            (raw / f"records100/00000/{eid:05d}_lr.{ext}").unlink()
    listed = [{"ecg_id": eid, "problem": "not in the local source"} for eid in (19, 20)]
    (raw / "missing_records.json").write_text(json.dumps({"count": 2, "records": listed}))
    report = run(raw, tmp_path / "p")
    saved = json.loads((tmp_path / "p/report.json").read_text())
    assert saved["not_downloaded"] == {"count": 2, "records": listed}
    with h5py.File(tmp_path / "p/signals.h5") as h5:
        assert not {19, 20} & set(h5["ecg_id"][...].tolist()) and h5["signals"].shape[0] == report.written


def test_filter_output_that_is_not_finite_is_never_written(raw, tmp_path, monkeypatch):
    """NaN is a bad number: whatever produced it, preprocess stops naming the record instead of storing it."""
    import ptbxl_multimodal.data.processed_files as processed
    from ptbxl_multimodal.errors import StageError

    class Unstable:
        def __init__(self, settings):
            pass

        def __call__(self, x):
            return np.full_like(x, np.nan)

    monkeypatch.setattr(processed, "FilterChain", Unstable)
    with pytest.raises(StageError, match=r"record \d+: filtering produced NaN/Inf.*preprocess.bandpass"):
        run(raw, tmp_path / "p", workers=1)
    assert not (tmp_path / "p/signals.h5").exists()


def test_spectrogram_window_longer_than_the_signal_names_the_key(raw, tmp_path):
    from ptbxl_multimodal.errors import ParamError

    run(raw, tmp_path / "p")
    too_long = settings.spectrogram(nperseg=2048, noverlap=0)
    with pytest.raises(ParamError, match=r"features.spectrogram.nperseg = 2048 is longer than the signal \(1000 "):
        featurize(
            tmp_path / "p/signals.h5",
            tmp_path / "f/fft.h5",
            tmp_path / "f/spec.h5",
            settings.features(spec_settings=too_long),
        )
    assert not (tmp_path / "f").exists() or not list((tmp_path / "f").iterdir())


def test_min_class_count_that_leaves_no_class_names_the_parameter(raw, tmp_path):
    with pytest.raises(LabelError, match=r"preprocess.min_class_count = 1000 leaves no class.*lower"):
        run(raw, tmp_path / "p", min_class_count=1000)


def test_float16_features_are_rebuilt_identically_for_prediction(raw, tmp_path):
    """Stored as float16, read as float32; predict rounds its rebuilt inputs the same way."""
    from ptbxl_multimodal.data.loading import load_input

    run(raw, tmp_path / "p")
    featurize(
        tmp_path / "p/signals.h5",
        tmp_path / "f/fft.h5",
        tmp_path / "f/spec.h5",
        settings.features(workers=1, chunk_size=4, dtype="float16"),
    )
    spec = InputSpec.from_h5(tmp_path / "f/spec.h5", "spectrogram")
    assert spec.dtype == "float16" and InputSpec.from_dict(spec.to_dict()) == spec
    with h5py.File(tmp_path / "p/signals.h5") as sig:
        ecg_id = sig["ecg_id"][:3]
    stored = load_input(tmp_path / "f/spec.h5", "spectrogram", ecg_id, tmp_path / "p/records.h5")
    assert stored.dtype == np.float32
    x = np.stack([read_record(raw / f"records100/00000/{e:05d}_lr")[0] for e in ecg_id])
    rebuilt = signal_inputs(x, 100, {"spec": spec})["spec"]
    assert np.allclose(rebuilt, stored, atol=0.07)  # float16 steps at ~100 dB are 0.06 dB


def test_a_source_with_reordered_or_extra_leads_gives_the_same_signals(raw, tmp_path):
    """preprocess reads leads by name as predict does: a record stored V6..I, or with Frank leads, is the same
    record; one at another sampling rate is refused by name (preprocess reads one rate: download.sampling_rate)."""
    from helpers import variants

    run(raw, tmp_path / "before")
    folder = raw / "records100" / "00000"
    for ecg_id, make in (
        (3, lambda b, f: variants.reordered(b, f, list(range(11, -1, -1)))),
        (5, variants.fifteen_leads),
    ):
        base = folder / f"{ecg_id:05d}_lr"
        made = make(base, tmp_path / f"v{ecg_id}")
        _replace_record(folder / base.name, made)
    run(raw, tmp_path / "after")
    with h5py.File(tmp_path / "before/signals.h5") as a, h5py.File(tmp_path / "after/signals.h5") as b:
        np.testing.assert_array_equal(a["signals"][...], b["signals"][...])

    at250 = variants.resampled(folder / "00007_lr", tmp_path / "v7", 250)
    _replace_record(folder / "00007_lr", at250)
    with pytest.raises(RecordError, match=r"00007_lr.*sampling rate 250 Hz, expected 100 Hz"):
        run(raw, tmp_path / "refused")


def _replace_record(base: Path, made: Path) -> None:
    """Put record `made` in place of `base` (its header renamed to point at the new data file)."""
    shutil.copy(made.with_suffix(".dat"), base.with_suffix(".dat"))
    base.with_suffix(".hea").write_text(made.with_suffix(".hea").read_text().replace(made.name, base.name))
