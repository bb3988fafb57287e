"""predict on real sample records as other devices export them: leads by name, any rate, other durations
(ptbxl_multimodal.signal.windows), other units. Each variant is made from a real record (helpers.variants)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from helpers import variants

pytestmark = pytest.mark.slow
ECG_IDS = (1, 9, 17)
SAME_SIGNAL_TOLERANCE = 0.06  # |fusion probability difference| from the 100 Hz record (docs/predict.md)
PTBXL_500HZ_TOLERANCE = 0.1


def _predict(models, records, tmp_path, name="p.json"):
    from ptbxl_multimodal.predict.cli import main as predict

    out = tmp_path / name
    status = predict([*map(str, records), "--models", str(models), "--all-branches", "--json", str(out)])
    return status, {r["record"]: r for r in json.loads(out.read_text())["records"]}


def _probs(record: dict) -> np.ndarray:
    return np.array([[p for p in model.values()] for model in record["probabilities"].values()])


@pytest.fixture(scope="module")
def models(pipeline_run):
    return pipeline_run[0] / "models"


def test_reordered_fifteen_lead_and_microvolt_copies_score_as_the_original(models, tmp_path):
    made = {}
    for e in ECG_IDS:
        base, folder = variants.original(e), tmp_path / str(e)
        made[base] = [
            variants.reordered(base, folder, [11, 3, 0, 7, 1, 10, 2, 4, 9, 5, 8, 6]),
            variants.fifteen_leads(base, folder),
            variants.in_microvolts(base, folder),
        ]
    status, out = _predict(models, [p for base, copies in made.items() for p in (base, *copies)], tmp_path)
    assert status == 0
    for base, copies in made.items():
        for copy in copies:
            np.testing.assert_allclose(_probs(out[str(copy)]), _probs(out[str(base)]), atol=1e-5, err_msg=str(copy))
            assert out[str(copy)]["decisions"] == out[str(base)]["decisions"]
        assert out[str(copies[1])]["ignored_leads"] == ["vx", "vy", "vz"]
        assert out[str(base)]["ignored_leads"] == [] and out[str(base)]["windows"] == 1
        assert out[str(base)]["span_s"] == [0.0, 10.0]


def test_250_and_500_hz_copies_score_close_to_the_100_hz_record(models, tmp_path):
    """Copies of the 100 Hz record at 250 and 500 Hz (band-limited: predict's resampling is all that differs), and
    PTB-XL's own 500 Hz record with a 250 Hz copy of it (PTB-XL made its 100 Hz records its own way), resampled by
    predict to the models' 100 Hz. Tolerances on the fusion's probabilities, from docs/predict.md: 0.053 and 0.24
    at most over 100 records, 0.023 and 0.036 for these three."""
    made, ptbxl = {}, {}
    for e in ECG_IDS:
        lr, hr = variants.original(e), variants.original(e, 500)
        made[lr] = [variants.resampled(lr, tmp_path / f"{e}", fs) for fs in (250, 500)]
        ptbxl[lr] = [hr, variants.resampled(hr, tmp_path / f"{e}hr", 250)]
    records = [p for lr in made for p in (lr, *made[lr], *ptbxl[lr])]
    status, out = _predict(models, records, tmp_path)
    assert status == 0
    for lr in made:
        fusion = np.array(list(out[str(lr)]["probabilities"]["fusion"].values()))
        for copies, tolerance in ((made[lr], SAME_SIGNAL_TOLERANCE), (ptbxl[lr], PTBXL_500HZ_TOLERANCE)):
            for copy in copies:
                assert out[str(copy)]["source_fs"] in (250, 500)
                gap = np.abs(np.array(list(out[str(copy)]["probabilities"]["fusion"].values())) - fusion).max()
                assert gap < tolerance, (str(copy), gap)


def test_long_records_are_scored_in_windows_and_short_ones_refused(models, tmp_path):
    """20 s = the record twice: windows at 0, 5 and 10 s (two of them the original exactly), averaged."""
    base = variants.original(ECG_IDS[2])
    doubled = variants.doubled(base, tmp_path)
    seam = variants.cut(doubled, tmp_path, 10, start=5)  # the middle window on its own
    short = variants.cut(base, tmp_path, 5)
    status, out = _predict(models, [base, doubled, seam, short], tmp_path)
    assert status == 1  # the 5 s strip failed; the others were predicted
    assert out[str(doubled)]["windows"] == 3 and out[str(doubled)]["span_s"] == [0.0, 20.0]
    expected = (2 * _probs(out[str(base)]) + _probs(out[str(seam)])) / 3
    np.testing.assert_allclose(_probs(out[str(doubled)]), expected, atol=2e-6)
    assert out[str(short)]["probabilities"] == {}
    assert "5.00 s long, shorter than the 10 s the models were trained on" in out[str(short)]["error"]


def test_a_record_without_a_needed_lead_is_refused_by_name(models, tmp_path):
    import wfdb

    base = variants.original(ECG_IDS[0])
    rec = wfdb.rdrecord(str(base), physical=False)
    names = [*rec.sig_name[:11], "vx"]  # V6 replaced by a Frank lead
    wfdb.wrsamp("noV6", fs=100, units=["mV"] * 12, sig_name=names, d_signal=rec.d_signal, fmt=["16"] * 12,
                adc_gain=[1000.0] * 12, baseline=[0] * 12, write_dir=str(tmp_path))  # fmt: skip
    status, out = _predict(models, [base, tmp_path / "noV6"], tmp_path)
    assert status == 1
    assert "lead(s) V6 missing" in out[str(tmp_path / "noV6")]["error"]
    assert out[str(base)]["error"] is None


def test_explain_writes_attributions_and_a_figure_that_add_up(pipeline_run, models, tmp_path):
    """predict --explain on real records (one 20 s): per-lead and per-second shares, branch contributions that
    add up to the fused logit (the stack: weight x branch logit, plus the intercept), and an ECG figure each."""
    from scipy.special import expit

    from ptbxl_multimodal import checkpoints
    from ptbxl_multimodal.predict.cli import main as predict

    base = variants.original(ECG_IDS[2])
    doubled = variants.doubled(base, tmp_path)
    out, figures = tmp_path / "p.json", tmp_path / "why"
    assert (
        predict([str(base), str(doubled), "--models", str(models), "--explain", str(figures), "--json", str(out)]) == 0
    )
    fusion = checkpoints.load(models / "fusion.pt")
    cal = checkpoints.calibration(fusion)
    for i, record in enumerate(json.loads(out.read_text())["records"]):
        why = record["explanation"]
        assert (figures / f"{Path(record['record']).name}.png").read_bytes()[:4] == b"\x89PNG"
        assert why["figure_class"] == max(record["probabilities"]["fusion"], key=record["probabilities"]["fusion"].get)
        for c, (name, per) in enumerate(why["per_class"].items()):
            assert sum(per["leads"].values()) == pytest.approx(1, abs=1e-3)
            assert sum(per["seconds"]) == pytest.approx(1, abs=1e-3) and len(per["seconds"]) == (10, 20)[i]
            logit = sum(per["branch_logits"].values()) + fusion.stack["intercept"][c]
            p = expit(cal.scale[c] * logit + cal.bias[c])
            assert p == pytest.approx(record["probabilities"]["fusion"][name], abs=2e-3)


def test_attributions_of_the_trained_time_branch_stay_in_the_one_lead_left(models):
    """A real record with every lead but V2 set to 0 mV: the trained time branch's attributions, for every class,
    lie in V2 alone."""
    from ptbxl_multimodal import checkpoints
    from ptbxl_multimodal.data.records import LEADS, read_record
    from ptbxl_multimodal.fusion.checkpoints import model_from_checkpoint
    from ptbxl_multimodal.predict.inference import branch_specs, signal_inputs
    from ptbxl_multimodal.report.attributions import Explanation, time_attributions

    fusion = checkpoints.load(models / "fusion.pt")
    x, fs = read_record(variants.original(ECG_IDS[2]))
    time_input = signal_inputs(x[None], fs, {"time": branch_specs(fusion)["time"]})["time"]
    only_v2 = np.zeros_like(time_input)
    only_v2[:, LEADS.index("V2")] = time_input[:, LEADS.index("V2")]
    attribution = time_attributions(model_from_checkpoint(fusion).branches["time"], only_v2, 5)
    shares = Explanation(attribution[0], only_v2[0], 100.0, {}).lead_shares()
    np.testing.assert_array_equal(shares[:, LEADS.index("V2")], 1.0)


def test_records_in_chunks_get_exactly_what_they_get_all_at_once(models, tmp_path):
    """predict reads, preprocesses and scores records a chunk at a time (memory stays flat for a whole dataset):
    chunks of 2 over records of mixed rates and lengths, one of them unusable, give what one chunk gives (to float
    noise: a batch of other records sums in another order)."""
    from ptbxl_multimodal.data.metadata import metadata_for
    from ptbxl_multimodal.predict.cli import predict_records

    folder = tmp_path / "v"
    records = [
        variants.original(1),
        variants.resampled(variants.original(9), folder, 500),
        variants.cut(variants.original(17), folder, 5.0),  # too short: refused, in the middle of a chunk
        variants.doubled(variants.original(17), folder),  # three windows
        variants.original(9),
    ]
    meta = metadata_for(records, None, {})
    one, classes = predict_records(records, models, meta, all_branches=True)
    chunked, same_classes = predict_records(records, models, meta, all_branches=True, chunk=2)
    assert classes == same_classes
    for a, b in zip(chunked, one):
        assert {**a.__dict__, "probabilities": None} == {**b.__dict__, "probabilities": None}
        assert a.probabilities.keys() == b.probabilities.keys()
        for model in a.probabilities:
            assert a.probabilities[model] == pytest.approx(b.probabilities[model], abs=1e-5)
    assert one[2].error and not one[2].probabilities and one[3].windows == 3


def test_a_long_recording_streamed_in_blocks_scores_as_read_whole(models, tmp_path):
    """A 2-minute recording (a real record 12 times: 23 windows) scored 4 windows at a time, keeping running sums,
    gives the probabilities of scoring every window at once within 1e-4, and each window's own probabilities
    (--windows rows) are the same either way."""
    import io

    from ptbxl_multimodal.data.metadata import metadata_for
    from ptbxl_multimodal.predict.cli import predict_records

    long = variants.repeated(variants.original(ECG_IDS[1]), tmp_path, 12)
    records = [variants.original(ECG_IDS[0]), long]
    meta = metadata_for(records, None, {})
    outs = {}
    for block in (4, 1000):
        rows = io.StringIO()
        outs[block] = (predict_records(records, models, meta, all_branches=True, windows_out=rows, block=block), rows)
    (streamed, classes), streamed_rows = outs[4]
    (whole, _), whole_rows = outs[1000]
    assert streamed[1].windows == whole[1].windows == 23 and streamed[1].span_s == [0.0, 120.0]
    for a, b in zip(streamed, whole):
        assert a.probabilities.keys() == b.probabilities.keys() == {"fusion", "time", "freq", "spec", "meta"}
        for model in a.probabilities:
            assert a.probabilities[model] == pytest.approx(b.probabilities[model], abs=1e-4)
        assert a.decisions == b.decisions
    lines = [line.split(",") for line in streamed_rows.getvalue().splitlines()]
    assert lines[0] == ["record", "model", "start_s", "end_s", *(f"{c}_prob" for c in classes)]
    assert len(lines) == 1 + 5 * (1 + 23)  # a row per window and model
    longs = [line for line in lines[1:] if line[0] == str(long) and line[1] == "fusion"]
    assert [(float(x[2]), float(x[3])) for x in longs] == [(5.0 * k, 5.0 * k + 10) for k in range(23)]
    by_key = lambda text: sorted(text.getvalue().splitlines()[1:])  # noqa: E731
    for a, b in zip(by_key(streamed_rows), by_key(whole_rows)):
        a_cells, b_cells = a.split(","), b.split(",")
        assert a_cells[:4] == b_cells[:4]
        np.testing.assert_allclose(np.array(a_cells[4:], float), np.array(b_cells[4:], float), atol=1e-4)


def test_a_long_recording_logs_a_line_not_every_window_and_writes_each_window_on_request(models, tmp_path, caplog):
    import logging

    from ptbxl_multimodal.predict.cli import main as predict
    from ptbxl_multimodal.predict.windowed_records import BLOCK_WINDOWS

    long = variants.repeated(variants.original(ECG_IDS[2]), tmp_path, 90)  # 15 minutes: 179 windows, streamed
    assert 179 > BLOCK_WINDOWS
    out = tmp_path / "w.csv"
    with caplog.at_level(logging.INFO):
        status = predict([str(long), "--models", str(models), "--windows", str(out)])
    assert status == 0
    assert max(len(r.getMessage()) for r in caplog.records) <= 300
    assert any("179 windows scored and averaged, covering 0-900 s" in r.getMessage() for r in caplog.records)
    rows = out.read_text().splitlines()
    assert len(rows) == 1 + 179 and rows[-1].startswith(f"{long},fusion,890.0,900.0,")
