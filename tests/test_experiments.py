"""DVC workflow on the real sample: granular reruns, determinism, metrics diff, experiments, interruptions.

The tests share one project and run in file order; each leaves the project up to date.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from helpers import readme
from helpers.project import copy_project, dvc, env, git, make_project, params_changed, set_params, stages_run
from helpers.sample import ROOT

pytestmark = pytest.mark.slow


def torch_has_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


BRANCH_STAGES = {"train@time", "train@freq", "train@spec", "train@meta"}
CROSSFIT_STAGES = {"crossfit@time", "crossfit@freq", "crossfit@spec", "crossfit@meta"}
DATA_STAGES = {"check_params", "download", "preprocess", "features", "split", "plots_template"}
ALL_STAGES = {*DATA_STAGES, *BRANCH_STAGES, *CROSSFIT_STAGES, "fusion", "evaluate"}
SIGNAL_VIEWS = {"train@time", "train@freq", "train@spec", "crossfit@time", "crossfit@freq", "crossfit@spec"}


@pytest.fixture(scope="module")
def project(pipeline_run, tmp_path_factory):
    """A copy of the project run end to end and committed ("baseline run")."""
    return copy_project(pipeline_run[0], tmp_path_factory.mktemp("exp") / "proj")


@pytest.mark.parametrize(
    "change,expected",
    [
        ({"download.workers": 4}, {"download"}),
        (
            {"preprocess.baseline.enabled": True},  # records.h5 is unchanged: split and train@meta do not rerun
            {"preprocess", "features", *SIGNAL_VIEWS, "fusion", "evaluate"},
        ),
        ({"features.spectrogram.noverlap": 32}, {"features", "train@spec", "crossfit@spec", "fusion", "evaluate"}),
        (
            {"split.train_folds": [1, 2, 3, 4, 5, 6, 7], "split.val_folds": [8, 9]},
            {"split", *BRANCH_STAGES, *CROSSFIT_STAGES, "fusion", "evaluate"},
        ),
        ({"train.spec.dropout": 0.3}, {"train@spec", "crossfit@spec", "fusion", "evaluate"}),
        ({"fusion.method": "gated"}, {"fusion", "evaluate"}),
        ({"evaluate.bootstrap": 10}, {"evaluate"}),
    ],
)
def test_one_change_reruns_exactly_the_stages_that_read_it(project, change, expected):
    """Plus check_params, which checks the whole file on every change to it (in seconds; it reruns nothing)."""
    set_params(project, change)
    assert stages_run(dvc(project, "repro").stdout) == {"check_params", *expected}


MODEL_FILES = {
    "time": "ptbxl_multimodal/models/time/residual_cnn.py",
    "freq": "ptbxl_multimodal/models/freq_transformer.py",
    "spec": "ptbxl_multimodal/models/spec_cnn.py",
    "meta": "ptbxl_multimodal/models/meta_mlp.py",
}
# check_params reads the whole file through config/ (every section's type is there): it reruns on their edits,
# in seconds, and on no model, training or fusion code.
CODE_EDITS = [
    *[(f, {f"train@{b}", f"crossfit@{b}", "fusion", "evaluate"}) for b, f in MODEL_FILES.items()],
    ("ptbxl_multimodal/fusion/heads.py", {"fusion", "evaluate"}),
    ("ptbxl_multimodal/fusion/stacked.py", {"fusion", "evaluate"}),
    ("ptbxl_multimodal/training/loop.py", {*BRANCH_STAGES, *CROSSFIT_STAGES, "fusion"}),
    ("ptbxl_multimodal/report/run_report.py", {"evaluate"}),
    ("ptbxl_multimodal/config/sections.py", {*ALL_STAGES}),  # every stage reads params.yaml through it
]


def test_a_code_edit_makes_stale_exactly_the_stages_that_run_that_code(project):
    """Append a comment to one file of the library, ask `dvc status` what is stale, put the file back."""
    for rel, expected in CODE_EDITS:
        path = project / rel
        original = path.read_text()
        path.write_text(original + "# edited\n")
        try:
            stale = set(json.loads(dvc(project, "status", "--json").stdout))
        finally:
            path.write_text(original)
        assert stale == expected, rel
    assert "up to date" in dvc(project, "status").stdout


def test_dry_runs_and_the_graph_work_in_a_fresh_clone_and_after_a_run(project, tmp_path):
    """check_params comes first with no placeholder output; after a run `dvc repro --dry` previews; in a fresh clone
    DVC 3.67's own dry run cannot hash inputs that no stage has made yet (treeverse/dvc#9818), so the preview there is
    `dvc repro --dry --force` (every stage, in order), and `dvc status` and `dvc dag` work."""
    assert dvc(project, "repro", "--dry").returncode == 0
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(project), str(clone)], check=True)
    order = re.findall(r"Running stage '([^']+)'", dvc(clone, "repro", "--dry", "--force").stdout)
    assert order[0] == "check_params" and len(order) == 16 and not (clone / "data").exists()
    dvc(clone, "status")
    assert "evaluate" in dvc(clone, "dag").stdout


def test_the_number_of_cross_fitting_groups_is_read_by_crossfit_and_fusion(project):
    """Checked with `dvc status` (what would rerun) rather than a rerun of all four crossfit stages. A stage
    that reads the whole `crossfit` section reports the section as changed."""
    set_params(project, {"crossfit.folds": 3})
    status = json.loads(dvc(project, "status", "--json").stdout)
    reads_folds = {stage for stage, keys in params_changed(status).items() if {"crossfit.folds", "crossfit"} & keys}
    assert reads_folds == {"check_params", *CROSSFIT_STAGES, "fusion"}, status
    set_params(project, {"crossfit.folds": 2})
    assert "up to date" in dvc(project, "status").stdout


def test_a_benchmark_architecture_as_the_signal_branch_reruns_its_stages_only_and_is_named(project):
    set_params(project, {"train.time.arch": "resnet1d_wang", "train.time.crop_seconds": 2.5})
    done = dvc(project, "repro")
    assert stages_run(done.stdout) == {"check_params", "train@time", "crossfit@time", "fusion", "evaluate"}
    assert json.loads((project / "metrics/detail/time.json").read_text())["arch"] == "resnet1d_wang"
    set_params(project, {"train.time.arch": "resnet", "train.time.crop_seconds": 0.0})
    dvc(project, "repro")  # back to the baseline: restored from the run cache
    assert json.loads((project / "metrics/detail/time.json").read_text())["arch"] == "resnet"


def test_reference_comparators_train_once_each_and_enter_the_paired_comparisons(project, tmp_path):
    """On a copy: DVC keeps a dropped reference's dvc.lock entry (and its checkpoint), which later tests would see."""
    project = copy_project(project, tmp_path / "proj")
    set_params(project, {"compare.references": ["resnet1d_wang"]})
    done = dvc(project, "repro")
    assert stages_run(done.stdout) == {"check_params", "reference@resnet1d_wang", "evaluate"}
    metrics = {name: json.loads((project / f"metrics/eval/{name}.json").read_text()) for name in
               ("fusion", "resnet1d_wang", "fusion_vs_resnet1d_wang")}  # fmt: skip
    vs = metrics["fusion_vs_resnet1d_wang"]
    assert vs["auc_lo"] <= vs["auc"] <= vs["auc_hi"] and vs["n_test"] == metrics["fusion"]["n_test"]
    assert abs(vs["auc"] - (metrics["fusion"]["auc"] - metrics["resnet1d_wang"]["auc"])) < 2e-4  # paired, same data
    assert json.loads((project / "metrics/detail/resnet1d_wang.json").read_text())["arch"] == "resnet1d_wang"
    assert "fusion_vs_resnet1d_wang" in dvc(project, "metrics", "show").stdout
    report = (project / "reports/report.md").read_text()
    assert "fusion - resnet1d_wang (reference, PTB-XL benchmark)" in report and "| resnet1d_wang |" in report
    assert "resnet1d_wang" in (project / "data/predictions/test.csv").read_text()
    set_params(project, {"compare.references": []})  # dropped again: evaluate only, and its rows go
    assert stages_run(dvc(project, "repro").stdout) == {"check_params", "evaluate"}
    assert not (project / "metrics/eval/fusion_vs_resnet1d_wang.json").exists()


def test_forced_rerun_reproduces_every_hash_in_dvc_lock(project):
    before = yaml.safe_load((project / "dvc.lock").read_text())
    dvc(project, "repro", "-f")
    after = yaml.safe_load((project / "dvc.lock").read_text())
    outs = lambda lock: {o["path"]: o.get("md5") for s in lock["stages"].values() for o in s.get("outs", [])}  # noqa: E731
    assert outs(after) == outs(before)
    branches = ("time", "freq", "spec", "meta")
    assert {p for p in outs(before) if p.startswith("models/")} == {
        *(f"models/{m}.pt" for m in (*branches, "fusion")),
        *(f"models/folds/{m}" for m in branches),  # the cross-fitting models, reproduced byte for byte too
    }


def test_exp_run_with_a_list_and_exp_show(project):
    """A list value through `-S`, here with the other test-time form of the stack (the default is `full`)."""
    import torch

    bagged_stack = ["-S", "fusion.method=stack", "-S", "fusion.test_logits=bagged"]  # earlier tests set `gated`
    dvc(project, "exp", "run", "-n", "ablation", "-S", "fusion.branches=[time,meta]", *bagged_stack)
    shown = json.loads(dvc(project, "exp", "show", "--json").stdout)
    text = json.dumps(shown)
    assert "ablation" in text and '"branches": ["time", "meta"]' in text and '"auc":' in text
    assert yaml.safe_load((project / "params.yaml").read_text())["fusion"]["branches"] == ["time", "meta"]
    # Bagged, each branch is the mean of its fold models, mapped per class onto one fold model's centre and spread:
    # a mean of models is narrower than each of them, so it is widened (scale >= 1).
    fusion = torch.load(project / "models/fusion.pt", weights_only=True)
    assert fusion["head"]["test_logits"] == "bagged" and set(fusion["fold_branches"]) == {"time", "meta"}
    align = fusion["stack"]["align"]
    assert set(align) == {"time", "meta"}
    for match in align.values():
        assert len(match["offset"]) == len(match["scale"]) == 5
        assert all(1 - 1e-6 <= s < 3.0 for s in match["scale"])  # sd of a mean <= the mean of the sds
    git(project, "checkout", "--", ".")
    dvc(project, "checkout")


def test_queued_experiments(project):
    dvc(project, "exp", "run", "--queue", "-n", "queued-seed", "-S", "evaluate.seed=3")
    dvc(project, "queue", "start")
    deadline = time.time() + 300
    while time.time() < deadline:
        status = dvc(project, "queue", "status").stdout
        if "queued-seed" in status and ("Success" in status or "Failed" in status):
            break
        time.sleep(2)
    dvc(project, "queue", "stop", check=False)
    assert "Success" in status, status
    assert "queued-seed" in dvc(project, "exp", "show").stdout


def test_cv_summary_of_two_experiments(project, tmp_path):
    """scripts/cv.py reads real experiments from `dvc exp show --json` (here the two run above)."""
    command = [sys.executable, str(ROOT / "scripts/cv.py"), "summary", "seeds", "--names", "ablation", "queued-seed"]
    done = subprocess.run(
        [*command, "--markdown", str(tmp_path / "cv.md")], cwd=project, env=env(), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "over 2 runs | per run (ablation, queued-seed)" in done.stdout and "| fusion |" in done.stdout
    assert (tmp_path / "cv.md").read_text() == done.stdout
    done = subprocess.run(command[:4], cwd=project, env=env(), capture_output=True, text=True)  # no cv-seed-* yet
    assert done.returncode == 1 and "found 0 finished experiment(s)" in done.stderr and "Traceback" not in done.stderr


def _run_killed(project: Path, stage: str, watch: Path, sig: int) -> None:
    """Start `dvc repro -f <stage>`, wait until it is writing (a temporary appears), then signal its group."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "dvc", "repro", "-f", "-s", stage],
        cwd=project,
        env=env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.time() + 120
    while time.time() < deadline and not list(watch.glob(".*.tmp-*")):
        time.sleep(0.02)
    assert list(watch.glob(".*.tmp-*")), f"{stage} never started writing"
    os.killpg(proc.pid, sig)
    proc.wait(timeout=60)


@pytest.mark.parametrize(
    "stage,folder,final",
    [
        ("preprocess", "data/processed", "data/processed/signals.h5"),
        ("train@time", "metrics/train", "models/time.pt"),
    ],
)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_killed_stage_leaves_no_partial_output(project, stage, folder, final, sig):
    before = (project / final).read_bytes()
    _run_killed(project, stage, project / folder, sig)
    assert not (project / final).exists() or (project / final).read_bytes() == before
    if sig == signal.SIGTERM:  # given the chance, the stage removes its temporaries itself
        deadline = time.time() + 15  # dvc exits at once; the stage may still be finishing its clean-up
        while time.time() < deadline and list((project / folder).glob(".*.tmp-*")):
            time.sleep(0.1)
        assert not list((project / folder).glob(".*.tmp-*"))
    dvc(project, "repro")  # the next run completes (DVC may restore the output from its run-cache)
    assert (project / final).read_bytes() == before
    assert "up to date" in dvc(project, "status").stdout
    # A SIGKILLed process cannot clean up: its temporary (never at an output path) goes the next time
    # the stage itself runs.
    dvc(project, "repro", "-f", "-s", stage)
    assert not list((project / folder).glob(".*.tmp-*"))


def test_nan_loss_keeps_the_last_good_checkpoint(project):
    good = (project / "models/meta.pt").read_bytes()
    set_params(project, {"train.meta.overrides.lr": 1e30, "train.common.grad_clip": 0.0})
    done = subprocess.run(
        [sys.executable, "-m", "stages.train", "meta"], cwd=project, env=env(), capture_output=True, text=True
    )
    assert done.returncode == 1
    assert "training loss became" in done.stderr and "epoch 1, step" in done.stderr
    assert "Traceback" not in done.stderr
    assert (project / "models/meta.pt").read_bytes() == good
    git(project, "checkout", "--", "params.yaml")


def test_bad_params_fail_before_any_work(project):
    """check_params lists every problem of the file before any stage runs; a stage run alone checks its own."""
    set_params(project, {"train.common.lr": -1, "preprocess.bandpass.high": 80.0})
    done = dvc(project, "repro", check=False)
    assert done.returncode != 0 and stages_run(done.stdout) == {"check_params"}
    out = done.stdout + done.stderr
    assert "preprocess.bandpass: need 0 < low < high < fs/2 = 50 Hz" in out
    assert "train.common.lr = -1: must be a number > 0" in out
    done = dvc(project, "repro", "-f", "-s", "preprocess", check=False)
    assert done.returncode != 0 and "preprocess.bandpass: need 0 < low < high" in done.stdout + done.stderr
    git(project, "checkout", "--", "params.yaml")


def test_a_misspelt_key_fails_fast_even_if_no_stage_reads_it(project):
    """DVC's own hint for an unknown key, `+key=value`, used to run nothing with exit 0."""
    done = dvc(project, "exp", "run", "-S", "+train.comon.epochs=2", check=False)
    assert done.returncode != 0 and stages_run(done.stdout) == {"check_params"}
    assert "train.comon: unknown key (did you mean 'common'?)" in done.stdout + done.stderr
    git(project, "checkout", "--", "params.yaml")


def shell(project, command):
    identity = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    return subprocess.run(
        ["bash", "-c", command], cwd=project, env={**env(), **identity}, capture_output=True, text=True
    )


def test_readme_compare_recipe(project):
    set_params(project, {"evaluate.bootstrap": 25})  # an uncommitted run, as in a user's workspace
    dvc(project, "repro")
    outputs = []
    for command in readme.block("run as written by tests/test_experiments.py::test_readme_compare_recipe"):
        done = shell(project, command)
        assert done.returncode == 0, (command, done.stdout[-2000:], done.stderr[-2000:])
        outputs.append(done.stdout)
    # a new seed retrains every model; the diff shows every model's metrics and the seed's old and new values
    assert stages_run(outputs[1]) == {"check_params", *BRANCH_STAGES, *CROSSFIT_STAGES, "fusion", "evaluate"}
    metrics_diff, params_diff = outputs[-2], outputs[-1]
    for model in ("time", "freq", "spec", "meta", "fusion"):
        assert f"metrics/eval/{model}.json" in metrics_diff and "auc" in metrics_diff, model
    assert re.search(r"train\.common\.seed\s+42\s+11", params_diff), params_diff
    # what the recipe commits is all a run leaves for git: DVC's outputs (and `dvc plots show`'s page) are ignored
    dvc(project, "plots", "show")
    assert git(project, "status", "--porcelain") == ""


@pytest.mark.skipif(torch_has_cuda(), reason="device=cuda is how this test makes a stage fail on a CPU machine")
def test_a_failed_run_is_undone_as_the_readme_says(project):
    """DVC removes a stage's outputs before running it; after a failure the README's two commands restore them."""
    tracked = [
        "models/time.pt",
        "metrics/train/time/metrics.json",
        "metrics/train/time/plots/metrics/val/macro_auc.tsv",
    ]
    before = {p: (project / p).read_bytes() for p in tracked}
    done = dvc(project, "exp", "run", "-S", "train.common.device=cuda", check=False)
    assert done.returncode != 0 and "no CUDA device is available" in done.stdout + done.stderr
    assert not all((project / p).exists() for p in tracked)  # what the failure cost
    for command in readme.block(
        "run as written by tests/test_experiments.py::test_a_failed_run_is_undone_as_the_readme_says"
    ):
        assert shell(project, command).returncode == 0, command
    assert {p: (project / p).read_bytes() for p in tracked} == before
    assert stages_run(dvc(project, "repro").stdout) <= {"check_params"}  # it recorded the failed values


@pytest.mark.skipif(torch_has_cuda(), reason="device=cuda is how this test makes a stage fail on a CPU machine")
def test_dvc_exp_apply_undoes_a_failed_run_and_keeps_the_experiments_params(project):
    """The README's other undo: a failed run after a good experiment; `dvc exp apply` brings back that experiment's
    params.yaml (here its bootstrap count, as it would an uncommitted download.source) and its outputs."""
    good = dvc(project, "exp", "run", "-n", "good", "-S", "evaluate.bootstrap=12")
    assert "No file hash info found" not in good.stdout + good.stderr  # dvc.lock records every output
    before = (project / "metrics/eval/fusion.json").read_bytes()
    failed = dvc(project, "exp", "run", "-S", "train.common.device=cuda", check=False)
    assert failed.returncode != 0 and not (project / "models/time.pt").exists()
    dvc(project, "exp", "apply", "good")
    assert yaml.safe_load((project / "params.yaml").read_text())["evaluate"]["bootstrap"] == 12
    assert (project / "models/time.pt").exists() and (project / "metrics/eval/fusion.json").read_bytes() == before
    assert stages_run(dvc(project, "repro").stdout) == set()
    git(project, "checkout", "params.yaml")  # leave the shared project as it was
    dvc(project, "checkout")


def test_a_first_run_that_fails_warns_about_every_output_again(tmp_path):
    """In a fresh project, a failed first run leaves a dvc.lock that records only what finished, so the next
    `dvc exp run` warns once per output again (README: the warnings stop once a run completes)."""
    proj = make_project(tmp_path / "proj", "/nonexistent/ptb-xl")
    for _ in range(2):
        done = dvc(proj, "exp", "run", check=False)
        assert done.returncode != 0 and "no such folder" in done.stdout + done.stderr
        assert (done.stdout + done.stderr).count("No file hash info found") >= 30
