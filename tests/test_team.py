"""Team use, end to end on the committed test records: runs committed on git branches compare in a fresh clone with
no DVC cache and no remote (their metrics are git's), and data, models and experiments travel through a DVC remote,
as the README's recipe says (a bare git repository and a local folder stand in for the team's servers)."""

from __future__ import annotations

import json
import subprocess

import pytest

from helpers import readme
from helpers.project import copy_project, dvc, env, git, set_params, stages_run

pytestmark = pytest.mark.slow
FIRST = "run as written by tests/test_team.py::test_readme_team_recipe: the first clone"
SECOND = "run as written by tests/test_team.py::test_readme_team_recipe: the second clone"
STORE = "/shared/ptbxl-dvc-store"  # the README's example remote, replaced by a folder of the test's
RECORD = "tests/data/ptbxl/records100/00000/00001_lr"


def shell(folder, command: str) -> str:
    done = subprocess.run(command, shell=True, cwd=folder, env=env(), capture_output=True, text=True)
    assert done.returncode == 0, (command, done.stdout[-3000:], done.stderr[-3000:])
    return done.stdout


def predict(folder) -> dict:
    out = folder / "p.json"
    shell(folder, f"ptbxl-predict {RECORD} --models models --all-branches --json {out}")
    return json.loads(out.read_text())["records"][0]["probabilities"]


def test_readme_team_recipe(pipeline_run, tmp_path):
    source, _ = pipeline_run  # the test project run once and committed ("baseline run")
    first = copy_project(source, tmp_path / "first")
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(origin))
    git(origin, "symbolic-ref", "HEAD", "refs/heads/main")
    git(first, "branch", "-M", "main")
    git(first, "remote", "add", "origin", str(origin))
    git(first, "push", "-q", "origin", "main")
    assert "metrics/eval/fusion.json" in git(first, "ls-files", "metrics")  # the run's metrics are git's

    # a second run on a branch, committed as the README's compare recipe does (another bootstrap: evaluate only)
    git(first, "checkout", "-q", "-b", "my-branch")
    set_params(first, {"evaluate.seed": 7})
    assert stages_run(dvc(first, "repro").stdout) == {"check_params", "evaluate"}
    git(first, "add", "dvc.lock", "params.yaml", "metrics")
    git(first, "commit", "-qm", "evaluate seed 7")
    assert git(first, "status", "--porcelain") == ""  # nothing of the run is left out of git but DVC's outputs
    setup, *share = (command.replace(STORE, str(tmp_path / "store")) for command in readme.block(FIRST))
    shell(first, setup)  # the remote, once
    # an experiment to share, run in a temporary copy: the workspace stays the committed run that `dvc push` sends
    dvc(first, "exp", "run", "--temp", "-n", "seed-11", "-S", "evaluate.seed=11")
    for command in share:
        shell(first, command)

    second = tmp_path / "second"
    git(tmp_path, "clone", "-q", str(origin), str(second))
    assert not (second / ".dvc" / "cache").exists() and not (second / "models").exists()
    diff, pulled, shown = (shell(second, command) for command in readme.block(SECOND))
    for model in ("time", "freq", "spec", "meta", "fusion"):
        assert f"metrics/eval/{model}.json" in diff, diff
    for model in ("time", "freq", "spec", "meta", "fusion"):  # each model's test macro AUC on both sides
        (auc,) = [
            line.split() for line in diff.splitlines() if line.split()[:2] == [f"metrics/eval/{model}.json", "auc"]
        ]
        assert 0 <= float(auc[2]) <= 1 and 0 <= float(auc[3]) <= 1, diff
    rows = [line.split() for line in diff.splitlines() if line.startswith("metrics/eval/fusion.json")]
    assert any(r[1] == "auc_hi" and r[2] != r[3] for r in rows), diff  # and what the branch changed
    assert predict(second) == predict(first)  # the pulled models are the first clone's
    assert "seed-11" in shown

    markdown = shell(second, "dvc metrics diff --md origin/main origin/my-branch")  # the pull-request comment
    assert markdown.lstrip().startswith("| Path") and "| metrics/eval/fusion.json" in markdown
