"""End to end: `dvc repro` of the whole pipeline on the real sample, and the data stages over HTTP."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import h5py
import pytest

from helpers import readme
from helpers.project import copy_project, dvc, make_project, stages_run
from helpers.sample import SAMPLE

pytestmark = pytest.mark.slow
MODELS = ("time", "freq", "spec", "meta", "fusion")
ALL_STAGES = {
    "check_params",
    "download",
    "preprocess",
    "features",
    "split",
    "train@time",
    "train@freq",
    "train@spec",
    "train@meta",
    "crossfit@time",
    "crossfit@freq",
    "crossfit@spec",
    "crossfit@meta",
    "fusion",
    "evaluate",
    "plots_template",
}


@pytest.fixture(scope="module")
def project(pipeline_run, tmp_path_factory):
    """A copy of the project run once end to end on the sample (local source)."""
    source, output = pipeline_run
    assert stages_run(output) == ALL_STAGES
    return copy_project(source, tmp_path_factory.mktemp("e2e") / "proj")


def test_every_output_exists(project):
    for path in (
        "data/raw/ptbxl_database.csv",
        "data/processed/signals.h5",
        "data/processed/records.h5",
        "data/processed/report.json",
        "data/features/fft.h5",
        "data/features/spectrogram.h5",
        "data/splits/split.json",
        "data/splits/summary.json",
        "data/predictions/test.csv",
        *(f"models/{m}.pt" for m in MODELS),
        *(f"metrics/eval/{m}.json" for m in MODELS),
    ):
        assert (project / path).is_file(), path
    assert not (project / "data/raw/records500").exists()  # only the requested rate
    report = json.loads((project / "data/processed/report.json").read_text())
    assert report["records_written"] == 91 and report["unlabelled"]["count"] == 5
    summary = json.loads((project / "data/splits/summary.json").read_text())
    assert (summary["train"]["records"], summary["val"]["records"], summary["test"]["records"]) == (57, 14, 20)


def test_metrics_cover_every_model_with_the_promised_keys(project):
    for m in MODELS:
        r = json.loads((project / f"metrics/eval/{m}.json").read_text())
        assert set(r) == {"auc", "auc_lo", "auc_hi", "fmax", "f1", "subset_acc", "bal_acc", "n_test", "val_auc"}
        assert 0 <= r["bal_acc"] <= 1
        # 57 training records (tests/data/ptbxl) are too few to promise better than chance on 20 test records
        assert 0 <= r["auc"] <= 1 and r["auc_lo"] <= r["auc"] <= r["auc_hi"] and 0 <= r["val_auc"] <= 1
        assert r["n_test"] == 20
        r = json.loads((project / f"metrics/detail/{m}.json").read_text())
        assert set(r["per_class"]) == {"CD", "HYP", "MI", "NORM", "STTC"}
        for key in ("fmax", "subset_accuracy"):
            assert 0 <= r[key] <= 1
        assert set(r["macro"]) == {"precision", "recall", "f1", "accuracy", "balanced_accuracy"}
        assert {"balanced_accuracy", "majority_accuracy"} <= set(r["per_class"]["HYP"])
        assert r["classes_in_macro_auc"] == 5
        assert r.get("arch") == ("resnet" if m == "time" else None)  # the signal branch names its architecture
    fusion = json.loads((project / "metrics/detail/fusion.json").read_text())
    assert set(fusion["fusion_minus"]) == {"time", "freq", "spec", "meta"}
    best = fusion["validation_best_branch"]
    assert set(fusion["fusion_minus"][best]["per_class_auc"]) == {"CD", "HYP", "MI", "NORM", "STTC"}  # train@ models
    like = fusion["like_for_like"]  # against each branch as the fusion deploys it (full), and the ablations
    assert like["form"] == "full" and like["validation_best"] == best
    vs_best = json.loads((project / "metrics/eval/fusion_vs_best.json").read_text())
    assert vs_best["auc"] == round(like["fusion_minus_best"]["diff"], 4) and vs_best["vs"] == best
    assert vs_best["auc_lo"] <= vs_best["auc"] <= vs_best["auc_hi"] and 0 <= vs_best["p_le0"] <= 1
    assert vs_best["n_train"] == 57 and vs_best["n_test"] == 20
    stack = json.loads((project / "metrics/train/fusion/stack.json").read_text())
    deployed = json.loads((project / "metrics/train/fusion/metrics.json").read_text())
    assert deployed["live_branches"] == len(stack["live_branches"]) >= 1 and deployed["used"] == stack["used"]
    views = {p.stem for p in (project / "metrics/eval/views").glob("*.json")}
    assert views == {"time", "freq", "spec", "meta", "no_time", "no_freq", "no_spec", "no_meta"}
    for view in views:  # each ablation's AUC minus the fusion's, on the same resamples
        row = json.loads((project / f"metrics/eval/views/{view}.json").read_text())
        assert row["auc"] == round(like["ablations"][view]["minus_fusion"]["diff"], 4)
    shown = dvc(project, "metrics", "show").stdout
    for m in (*MODELS, "fusion_vs_best", "views/no_meta", "views/time"):
        assert f"metrics/eval/{m}.json" in shown
    assert "auc_lo" in shown and "p_le0" in shown and max(map(len, shown.splitlines())) <= 150  # docs/metrics.md: 149


def test_out_of_fold_logits_come_from_models_that_never_saw_the_record(project):
    """Each training record's out-of-fold logit is the prediction of the one fold model trained without its
    group; with the test's crossfit.folds = 2 the groups are strat_folds 1-4 and 5-8."""
    import numpy as np
    import torch

    from ptbxl_multimodal.branches import input_files
    from ptbxl_multimodal.checkpoints import load_branch
    from ptbxl_multimodal.config.paths import ProjectPaths
    from ptbxl_multimodal.data.loading import load_split
    from ptbxl_multimodal.fusion.crossfit import read_oof

    paths = ProjectPaths(project)
    split = json.loads(paths.split.read_text())
    for name in ("time", "meta"):
        ecg_id, groups, logits, _ = read_oof(paths.oof(name))
        assert ecg_id.tolist() == split["train"] and np.isfinite(logits).all()
        with h5py.File(paths.records) as h5:
            folds = h5["strat_fold"][...][np.searchsorted(h5["ecg_id"][...], ecg_id)]
        assert {(int(f), int(g)) for f, g in zip(folds, groups)} == {(f, (f - 1) // 4) for f in range(1, 9)}
        data = load_split(input_files(paths, [name]), split["train"], paths.records)
        for g in np.unique(groups):
            ckpt = load_branch(paths.fold_models(name) / f"fold{g}.pt")
            assert ckpt.training["held_out_group"] == g
            assert ckpt.training["train_records"] == int((groups != g).sum())  # every other group, no more
            with torch.no_grad():
                own = ckpt.model()(torch.from_numpy(data.inputs[name][groups == g])).numpy()
            assert np.allclose(own, logits[groups == g], atol=1e-5)


def test_the_deployed_fusion_applies_its_fitted_weights_to_logits_of_the_fitted_kind(project):
    """Fit what you deploy: on validation, each branch inside the deployed fusion (the train@ model, aligned) has
    per class the centre and spread of its cross-fitting models' logits, the kind the weights were fitted on; and
    the fusion's output is exactly those weights applied to those logits."""
    import numpy as np

    from ptbxl_multimodal.branches import input_files
    from ptbxl_multimodal.checkpoints import load_branch, load_fusion
    from ptbxl_multimodal.config.paths import ProjectPaths
    from ptbxl_multimodal.data.loading import load_split
    from ptbxl_multimodal.fusion.checkpoints import stacked_from_checkpoint
    from ptbxl_multimodal.fusion.stacking import combine
    from ptbxl_multimodal.fusion.train_stack import fold_logits
    from ptbxl_multimodal.models.runtime import module_logits
    from ptbxl_multimodal.predict.inference import Predictor

    paths = ProjectPaths(project)
    ckpt = load_fusion(paths.model("fusion"))
    names = list(ckpt.branches)
    val = load_split(input_files(paths, names), json.loads(paths.split.read_text())["val"], paths.records)
    folds = fold_logits(
        {n: [load_branch(paths.fold_models(n) / f"fold{g}.pt") for g in range(2)] for n in names}, val.inputs
    )
    fusion = stacked_from_checkpoint(ckpt)
    deployed = module_logits(dict(fusion.branches.items()), val.inputs, 64)
    raw = module_logits({n: fusion.branches[n].model for n in names}, val.inputs, 64)  # the train@ models
    for n in names:
        assert np.allclose(deployed[n].mean(axis=0), folds[n].mean(axis=(0, 1)), atol=1e-4)
        assert np.allclose(deployed[n].std(axis=0), folds[n].std(axis=1).mean(axis=0), rtol=1e-3, atol=1e-5)
        stored = ckpt.stack["align"][n]
        assert np.allclose(np.asarray(stored["deployed_sd"]), raw[n].std(axis=0), rtol=1e-3, atol=1e-5)
    fused = Predictor(ckpt, 64, "cpu").logits(val.inputs)
    z = np.stack([deployed[n] for n in names], axis=1)
    weights, intercept = np.asarray(ckpt.stack["weights"]), np.asarray(ckpt.stack["intercept"])
    assert np.allclose(fused, combine(z, weights, intercept), atol=1e-4)
    report = (project / "reports/report.md").read_text()
    assert f"Uses **{ckpt.stack['used']}**" in report and "centre and spread" in report


def test_evaluate_refuses_models_trained_on_other_classes(project, tmp_path):
    from ptbxl_multimodal.config.paths import ProjectPaths
    from ptbxl_multimodal.config.sections import EvaluateSettings
    from ptbxl_multimodal.errors import StageError
    from ptbxl_multimodal.evaluation.evaluate import evaluate

    copy = tmp_path / "copy"
    for rel in ("data", "models", "metrics"):
        shutil.copytree(project / rel, copy / rel)
    with h5py.File(copy / "data/processed/records.h5", "r+") as h5:
        h5["labels"].attrs["classes"] = json.dumps(["CD", "HYP", "MI", "NORM", "OTHER"])
    with pytest.raises(StageError, match=r"models/time.pt predicts .*'STTC'.* but .*records.h5 has .*'OTHER'"):
        evaluate(EvaluateSettings(bootstrap=10, seed=0, batch_size=64, calibration_bins=10), ProjectPaths(copy), [])


def test_plots_render(project):
    shown = json.loads(dvc(project, "plots", "show", "--json").stdout)
    assert not shown.get("errors")
    names = set(shown["data"])
    for c in ("CD", "HYP", "MI", "NORM", "STTC"):
        assert {f"metrics/plots/roc/{c}.json", f"metrics/plots/precision_recall/{c}.json"} <= names
    assert {f"metrics/plots/confusion/{m}.json" for m in MODELS} <= names
    assert "metrics/train/time/plots/metrics/val/macro_auc.tsv" in names
    roc = json.loads((project / "metrics/plots/roc/NORM.json").read_text())
    assert {r["model"] for r in roc} == set(MODELS)


def test_plots_page_works_offline(project, tmp_path):
    """The HTML `dvc plots show` writes carries the plotting libraries itself: nothing to fetch from a CDN."""
    dvc(project, "plots", "show", "-o", str(tmp_path / "plots"))
    page = (tmp_path / "plots/index.html").read_text()
    assert "cdn.jsdelivr" not in page and "<script src=" not in page
    assert "window.vegaEmbed" in page and page.count("vegaEmbed('#") >= 10


def test_second_repro_does_nothing(project):
    done = dvc(project, "repro")
    assert stages_run(done.stdout) == set()
    assert "up to date" in dvc(project, "status").stdout


def test_forced_rerun_gives_identical_bytes(project):
    paths = [
        "data/processed/signals.h5",
        "data/processed/records.h5",
        "data/features/fft.h5",
        "data/splits/split.json",
        "models/meta.pt",
    ]
    before = {p: (project / p).read_bytes() for p in paths}
    for stage in ("preprocess", "features", "split", "train@meta"):
        dvc(project, "repro", "-f", "-s", stage)
    for p in paths:
        assert (project / p).read_bytes() == before[p], p
    assert "up to date" in dvc(project, "status").stdout


def test_the_same_params_give_the_same_model_whatever_else_trains_beside(project, tmp_path):
    """Reproducible by default: with the committed train.common.threads, train@time run alone and run again while
    another training process trains beside it (as `dvc queue start -j 2` or a colleague's run would) writes the
    same model and metrics, byte for byte, at the same thread count."""
    import os
    import signal
    import time

    import torch

    from helpers.project import committed_params, env, set_params
    from ptbxl_multimodal.training.cpu_share import claims_folder, machine_cores

    default = committed_params()["train"]["common"]["threads"]
    alone, beside = copy_project(project, tmp_path / "alone"), copy_project(project, tmp_path / "beside")
    set_params(alone, {"train.common.threads": default})
    long = {"train.common.epochs": 1000, "train.common.patience": 1000}  # trains until stopped
    set_params(beside, {"train.common.threads": default, **long})
    outputs = ("models/time.pt", "metrics/train/time/metrics.json")
    dvc(alone, "repro", "--single-item", "train@time")
    first = {p: (alone / p).read_bytes() for p in outputs}
    claims = set(claims_folder().glob("*.claim")) if claims_folder().exists() else set()
    other = subprocess.Popen(
        [sys.executable, "-m", "dvc", "repro", "--single-item", "train@time"],
        cwd=beside,
        env=env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.time() + 120
        while not set(claims_folder().glob("*.claim")) - claims and time.time() < deadline:
            assert other.poll() is None, "the other training process ended before it trained"
            time.sleep(0.2)
        assert set(claims_folder().glob("*.claim")) - claims, "the other training process never started training"
        dvc(alone, "repro", "--force", "--single-item", "train@time")
        assert other.poll() is None, "the other process was not training beside it all along"
    finally:
        os.killpg(other.pid, signal.SIGTERM)
        other.wait(timeout=60)
    for p in outputs:
        assert (alone / p).read_bytes() == first[p], p
    threads = torch.load(alone / "models/time.pt", weights_only=True)["training"]["threads"]
    assert threads and set(threads) == {default or machine_cores()}


def test_predictions_file(project):
    lines = (project / "data/predictions/test.csv").read_text().splitlines()
    header = lines[0].split(",")
    assert header[:2] == ["ecg_id", "model"] and "NORM_prob" in header and "NORM_pred" in header
    assert len(lines) == 1 + 20 * len(MODELS)


def test_checkpoints_are_self_contained(project):
    import torch

    ckpt = torch.load(project / "models/time.pt", weights_only=True)
    spec = ckpt["input_spec"]["filters"]
    assert spec["fs"] == 100 and (spec["bandpass"]["low"], spec["bandpass"]["high"]) == (0.5, 45.0)
    assert ckpt["classes"] == ["CD", "HYP", "MI", "NORM", "STTC"]
    fusion = torch.load(project / "models/fusion.pt", weights_only=True)
    assert set(fusion["branches"]) == {"time", "freq", "spec", "meta"}
    assert fusion["branches"]["spec"]["input_spec"]["spectrogram"]["nperseg"] == 64
    # the default test-time form: the train@ models alone, no fold models carried along
    assert fusion["head"]["test_logits"] == "full" and fusion["fold_branches"] is None


def test_data_stages_over_http(serve, tmp_path):
    """`dvc repro features split` (all data outputs) with the source served over HTTP on 127.0.0.1."""
    server = serve(SAMPLE.parent)
    proj = make_project(tmp_path / "proj", server.url + SAMPLE.name + "/")
    done = dvc(proj, "repro", "features", "split")
    assert stages_run(done.stdout) == {"check_params", "download", "preprocess", "features", "split"}
    with h5py.File(proj / "data/processed/signals.h5") as h5:
        assert h5["signals"].shape == (91, 12, 1000)
    assert any(r.endswith("records100/00000/00001_lr.dat") for r in server.requests)


def _metadata_csv(path, ecg_ids):
    import pandas as pd

    db = pd.read_csv(SAMPLE / "ptbxl_database.csv", index_col="ecg_id").loc[ecg_ids]
    pd.DataFrame(
        {
            "record": [f"{e:05d}_lr" for e in ecg_ids],
            "age": db["age"].to_numpy(),
            "sex": db["sex"].to_numpy(),
            "height": db["height"].to_numpy(),
            "weight": db["weight"].to_numpy(),
        }
    ).to_csv(path, index=False)


def test_predict_matches_evaluate_on_test_records(project, tmp_path):
    import csv as csv_module

    from ptbxl_multimodal.predict.cli import main as predict

    test_ids = json.loads((project / "data/splits/split.json").read_text())["test"][:6]
    alone = tmp_path / "copied"  # the checkpoints alone, without metrics/ or params.yaml: they carry their thresholds
    alone.mkdir()
    for model in MODELS:
        shutil.copy(project / "models" / f"{model}.pt", alone)
    records = [str(SAMPLE / f"records100/{(e // 1000) * 1000:05d}/{e:05d}_lr") for e in test_ids]
    _metadata_csv(tmp_path / "meta.csv", test_ids)
    status = predict(
        [
            *records,
            "--models",
            str(alone),
            "--metadata",
            str(tmp_path / "meta.csv"),
            "--all-branches",
            "--json",
            str(tmp_path / "p.json"),
            "--csv",
            str(tmp_path / "p.csv"),
        ]
    )
    assert status == 0
    out = json.loads((tmp_path / "p.json").read_text())
    assert out["classes"] == ["CD", "HYP", "MI", "NORM", "STTC"]
    evaluated = {
        (int(r["ecg_id"]), r["model"]): r for r in csv_module.DictReader(open(project / "data/predictions/test.csv"))
    }
    for eid, rec in zip(test_ids, out["records"]):
        assert rec["error"] is None and rec["source_fs"] == 100
        for model in MODELS:
            for c in out["classes"]:
                assert rec["probabilities"][model][c] == pytest.approx(
                    float(evaluated[eid, model][f"{c}_prob"]), abs=1e-4
                ), (eid, model, c)
                assert rec["decisions"][model][c] == int(evaluated[eid, model][f"{c}_pred"])
    rows = list(csv_module.DictReader(open(tmp_path / "p.csv")))
    assert len(rows) == 6 * len(MODELS) and {"record", "model", "NORM_prob", "NORM_pred"} <= set(rows[0])


def test_predict_500hz_corrupt_and_wrong_leads(project, tmp_path, ecg_like):
    import shutil

    from helpers.records import write_record
    from ptbxl_multimodal.predict.cli import main as predict

    bad = tmp_path / "bad"
    bad.mkdir()
    for ext in ("hea", "dat"):
        shutil.copy(SAMPLE / f"records100/00000/00003_lr.{ext}", bad / f"00003_lr.{ext}")
    (bad / "00003_lr.dat").write_bytes((bad / "00003_lr.dat").read_bytes()[:4000])
    write_record(bad, "eightleads", ecg_like(100)[:, :8], 100)
    write_record(bad, "flatline", 0 * ecg_like(100), 100)  # readable, but no ECG in it
    hr = SAMPLE / "records500/00000/00001_hr"
    status = predict(
        [
            str(hr),
            str(bad),
            "--models",
            str(project / "models"),
            "--threshold",  # one explicit threshold instead of the checkpoint's tuned ones
            "0.5",
            "--json",
            str(tmp_path / "p.json"),
        ]
    )
    assert status == 1  # some records failed
    recs = {r["record"]: r for r in json.loads((tmp_path / "p.json").read_text())["records"]}
    good = recs[str(hr)]
    assert good["error"] is None and good["source_fs"] == 500 and 0 <= good["probabilities"]["fusion"]["NORM"] <= 1
    assert good["missing_inputs"] == ["age", "sex", "height", "weight"]
    assert good["decisions"]["fusion"] == {c: int(p >= 0.5) for c, p in good["probabilities"]["fusion"].items()}
    assert "truncated" in recs[str(bad / "00003_lr")]["error"]
    assert "12 standard leads" in recs[str(bad / "eightleads")]["error"]
    assert recs[str(bad / "flatline")]["error"].startswith("unusable signal: lead I is flat")


DDP_DRIVER = """
import sys
from dataclasses import replace
from pathlib import Path
from ptbxl_multimodal.config.paths import ProjectPaths
from ptbxl_multimodal.config.params import load_params
from ptbxl_multimodal.training import distributed
from ptbxl_multimodal.training.train_branch import train_branch

p = load_params().branches["meta"]
p = replace(p, architecture=replace(p.architecture, dropout=0.0),  # no per-rank randomness: 2 processes == 1
            training=replace(p.training, epochs=4, mixup=0.2))  # mixup partners come from the global batch
root = Path(sys.argv[1])  # the project's data, this run's own models and logs
root.mkdir(exist_ok=True)
try:
    (root / "data").symlink_to(Path.cwd() / "data")
except FileExistsError:  # the other rank made it
    pass
train_branch("meta", p, "platt", ProjectPaths(root))
distributed.finish()
"""


def _launch(cmd: list[str], root, project) -> subprocess.Popen:
    """Start the DDP driver (meta, 4 epochs) under `cmd`, writing its models and logs under `root`."""
    from helpers.project import env

    return subprocess.Popen(
        [*cmd, str(root)], cwd=project, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _finish(proc: subprocess.Popen) -> None:
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-3000:]


def _assert_same_model(a_path, b_path) -> None:
    import torch

    a, b = torch.load(a_path, weights_only=True), torch.load(b_path, weights_only=True)
    assert a["training"]["best_val_macro_auc"] == pytest.approx(b["training"]["best_val_macro_auc"], abs=1e-6)
    for key, value in a["state_dict"].items():
        assert torch.allclose(value.float(), b["state_dict"][key].float(), atol=1e-5), key


@pytest.fixture(scope="module")
def ddp_single(project, tmp_path_factory):
    """The DDP driver's model trained by one process: what every distributed launch must reproduce."""
    import sys

    root = tmp_path_factory.mktemp("ddp") / "single"
    driver = root.parent / "driver.py"
    driver.write_text(DDP_DRIVER)
    _finish(_launch([sys.executable, str(driver)], root, project))
    return driver, root / "models/meta.pt"


def test_two_process_ddp_matches_one_process(project, tmp_path, ddp_single):
    import sys

    driver, single = ddp_single
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2", str(driver)]
    _finish(_launch(cmd, tmp_path / "ddp", project))
    _assert_same_model(single, tmp_path / "ddp/models/meta.pt")
    assert (tmp_path / "ddp/metrics/train/meta/metrics.json").is_file()  # written once, by rank 0


def test_two_nodes_meeting_through_a_c10d_rendezvous_match_one_process(project, tmp_path, ddp_single):
    """docs/performance.md's multi-node command, as if on two machines: two torchrun launchers (one process each),
    each with its own project folder, meet at a c10d rendezvous on 127.0.0.1; rank 0 alone writes, on its node."""
    import socket
    import sys

    driver, single = ddp_single
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    rdzv = ["--nnodes=2", "--nproc-per-node=1", "--rdzv-backend=c10d", f"--rdzv-endpoint=127.0.0.1:{port}"]
    cmd = [sys.executable, "-m", "torch.distributed.run", *rdzv, "--rdzv-id=ptbxl-test", str(driver)]
    nodes = {name: _launch(cmd, tmp_path / name, project) for name in ("node_a", "node_b")}
    for proc in nodes.values():
        _finish(proc)
    written = [name for name in nodes if (tmp_path / name / "models/meta.pt").is_file()]
    assert len(written) == 1, written  # rank 0's node, whichever joined first
    _assert_same_model(single, tmp_path / written[0] / "models/meta.pt")


def test_readme_predict_command(project):
    """The README's predict example, as written (the sample's path made absolute for the test's folder)."""
    from helpers.project import env

    (command,) = readme.block("run as written by tests/test_pipeline.py::test_readme_predict_command")
    command = command.replace("../shared/ptbxl", str(SAMPLE))
    done = subprocess.run(["bash", "-c", command], cwd=project, env=env(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    line = done.stdout.strip()
    assert line.startswith(f"{SAMPLE}/records100/00000/00001_lr [fusion] CD ") and "-> " in line, line
