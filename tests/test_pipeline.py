"""End to end: `dvc repro` of the whole pipeline on the real sample, and the data stages over HTTP."""

from __future__ import annotations

import json

import h5py
import pytest

from conftest import SAMPLE, needs_sample
from pipeline_helpers import dvc, make_project, stages_run

pytestmark = [needs_sample, pytest.mark.slow]
MODELS = ("time", "freq", "spec", "meta", "fusion")
ALL_STAGES = {"download", "preprocess", "features", "split", "train@time", "train@freq", "train@spec",
              "train@meta", "fusion", "evaluate"}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """The project copied to a temp folder, run once end to end on the sample (local source)."""
    proj = make_project(tmp_path_factory.mktemp("e2e") / "proj", str(SAMPLE))
    done = dvc(proj, "repro")
    assert stages_run(done.stdout) == ALL_STAGES
    return proj


def test_every_output_exists(project):
    for path in ("data/raw/ptbxl_database.csv", "data/processed/signals.h5", "data/processed/records.h5",
                 "data/processed/report.json", "data/features/fft.h5", "data/features/spectrogram.h5",
                 "data/splits/split.json", "data/splits/summary.json", "data/predictions/test.csv",
                 *(f"models/{m}.pt" for m in MODELS), *(f"metrics/eval/{m}.json" for m in MODELS)):
        assert (project / path).is_file(), path
    assert not (project / "data/raw/records500").exists()  # only the requested rate
    report = json.loads((project / "data/processed/report.json").read_text())
    assert report["records_written"] == 491 and report["unlabelled"]["count"] == 12
    summary = json.loads((project / "data/splits/summary.json").read_text())
    assert (summary["train"]["records"], summary["val"]["records"], summary["test"]["records"]) == (353, 73, 65)


def test_metrics_cover_every_model_with_the_promised_keys(project):
    for m in MODELS:
        r = json.loads((project / f"metrics/eval/{m}.json").read_text())
        assert 0.5 <= r["macro_auc"] <= 1 and r["macro_auc_ci95_low"] <= r["macro_auc"] <= r["macro_auc_ci95_high"]
        assert r["test_records"] == 65 and set(r["per_class"]) == {"CD", "HYP", "MI", "NORM", "STTC"}
        for key in ("fmax", "subset_accuracy"):
            assert 0 <= r[key] <= 1
        assert set(r["macro"]) == {"precision", "recall", "f1", "accuracy"}
    shown = dvc(project, "metrics", "show").stdout
    for m in MODELS:
        assert f"metrics/eval/{m}.json" in shown
    assert "macro_auc" in shown and "fmax" in shown


def test_plots_render(project):
    shown = json.loads(dvc(project, "plots", "show", "--json").stdout)
    assert not shown.get("errors")
    names = set(shown["data"])
    for c in ("CD", "HYP", "MI", "NORM", "STTC"):
        assert {f"metrics/plots/roc/{c}.json", f"metrics/plots/precision_recall/{c}.json"} <= names
    assert {f"metrics/plots/confusion/{m}.json" for m in MODELS} <= names
    assert "metrics/train/fusion/plots/metrics/val/macro_auc.tsv" in names
    roc = json.loads((project / "metrics/plots/roc/NORM.json").read_text())
    assert {r["model"] for r in roc} == set(MODELS)


def test_second_repro_does_nothing(project):
    done = dvc(project, "repro")
    assert stages_run(done.stdout) == set()
    assert "up to date" in dvc(project, "status").stdout


def test_forced_rerun_gives_identical_bytes(project):
    paths = ["data/processed/signals.h5", "data/processed/records.h5", "data/features/fft.h5",
             "data/splits/split.json", "models/meta.pt"]
    before = {p: (project / p).read_bytes() for p in paths}
    for stage in ("preprocess", "features", "split", "train@meta"):
        dvc(project, "repro", "-f", "-s", stage)
    for p in paths:
        assert (project / p).read_bytes() == before[p], p
    assert "up to date" in dvc(project, "status").stdout


def test_predictions_file(project):
    lines = (project / "data/predictions/test.csv").read_text().splitlines()
    header = lines[0].split(",")
    assert header[:2] == ["ecg_id", "model"] and "NORM_prob" in header and "NORM_pred" in header
    assert len(lines) == 1 + 65 * len(MODELS)


def test_checkpoints_are_self_contained(project):
    import torch
    ckpt = torch.load(project / "models/time.pt", weights_only=True)
    assert ckpt["input_spec"]["fs"] == 100 and ckpt["input_spec"]["bandpass"] == [0.5, 45.0]
    assert ckpt["classes"] == ["CD", "HYP", "MI", "NORM", "STTC"]
    fusion = torch.load(project / "models/fusion.pt", weights_only=True)
    assert set(fusion["branches"]) == {"time", "freq", "spec", "meta"}
    assert fusion["branches"]["spec"]["input_spec"]["spectrogram_nperseg"] == 64


def test_data_stages_over_http(serve, tmp_path):
    """`dvc repro features split` (all data outputs) with the source served over HTTP on 127.0.0.1."""
    server = serve(SAMPLE.parent)
    proj = make_project(tmp_path / "proj", server.url + SAMPLE.name + "/")
    done = dvc(proj, "repro", "features", "split")
    assert stages_run(done.stdout) == {"download", "preprocess", "features", "split"}
    with h5py.File(proj / "data/processed/signals.h5") as h5:
        assert h5["signals"].shape == (491, 12, 1000)
    assert any(r.endswith("records100/00000/00001_lr.dat") for r in server.requests)
