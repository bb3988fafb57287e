"""Throw-away copies of the project for tests that run the real DVC pipeline.

A copy takes the code from the working tree (what is being tested) but params.yaml as staged in git (the
index: the last commit plus what `git add` put there), so `dvc exp run -S ...` in the workspace, which
rewrites params.yaml without staging it, cannot change what a test runs. To test a new default, `git add
params.yaml`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from helpers.sample import ROOT

# Small models and short training so the whole pipeline runs on the sample in about a minute
# (three epochs need the time branch at the common learning rate, not its slower default).
SMALL = {
    "train.common.epochs": 3,
    "train.common.batch_size": 32,
    "train.time.overrides.lr": 0.003,
    "train.time.channels": [8, 16],
    "train.time.blocks_per_stage": 1,
    "train.time.embedding_dim": 16,
    "train.freq.channels": 8,
    "train.freq.d_model": 16,
    "train.freq.heads": 2,
    "train.freq.layers": 1,
    "train.freq.ff_dim": 32,
    "train.freq.embedding_dim": 16,
    "train.freq.downsample": 8,
    "train.spec.channels": [8, 16],
    "train.spec.embedding_dim": 16,
    "train.meta.hidden": [8],
    "train.meta.embedding_dim": 8,
    "crossfit.folds": 2,
    "fusion.overrides.epochs": 3,
    "fusion.hidden": 16,
    "evaluate.bootstrap": 20,
    # a fixed thread count: byte-for-byte reruns must not depend on what else runs beside the suite (cpu_share)
    "train.common.threads": 2,
}


def env() -> dict[str, str]:
    """The test's environment, with this interpreter's folder first on PATH (the stages run `python`)."""
    e = dict(os.environ)
    e["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{e.get('PATH', '')}"
    e.pop("PYTHONPATH", None)
    e["DVC_NO_ANALYTICS"] = "1"
    return e


def set_params(project: Path, overrides: dict) -> None:
    """Write dotted-key overrides into the project's params.yaml."""
    path = project / "params.yaml"
    params = yaml.safe_load(path.read_text())
    for dotted, value in overrides.items():
        node = params
        *parents, last = dotted.split(".")
        for key in parents:
            node = node[key]
        node[last] = value
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def make_project(dest: Path, source: str, overrides: dict | None = None) -> Path:
    """Copy the tracked project files into dest, as a fresh git repository, pointed at `source`."""
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    for rel in files:
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, target)
    (dest / "params.yaml").write_text(committed_params_text())
    set_params(dest, {"download.source": source, **SMALL, **(overrides or {})})
    git(dest, "init", "-q")
    git(dest, "add", "-A")
    git(dest, "commit", "-qm", "test project")
    return dest


def copy_project(source: Path, dest: Path) -> Path:
    """A full copy of a project (git history, DVC cache and outputs), so a test can change it freely."""
    shutil.copytree(source, dest, symlinks=True)
    return dest


def git(project: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def dvc(project: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run a dvc command in the project; on failure show its output."""
    done = subprocess.run([sys.executable, "-m", "dvc", *args], cwd=project, env=env(), capture_output=True, text=True)
    if check and done.returncode != 0:
        raise AssertionError(f"dvc {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done


def stages_run(output: str) -> set[str]:
    """The stages a `dvc repro` actually ran, from its output."""
    return set(re.findall(r"Running stage '([^']+)'", output))


def params_changed(status: dict) -> dict[str, set[str]]:
    """Per stage, the params.yaml keys (or whole sections) that `dvc status --json` reports as changed."""
    changed = {}
    for stage, changes in status.items():
        for change in changes:
            deps = change.get("changed deps", {}) if isinstance(change, dict) else {}
            if isinstance(deps.get("params.yaml"), dict):
                changed.setdefault(stage, set()).update(deps["params.yaml"])
    return changed


def committed_params_text() -> str:
    """params.yaml as staged in git (see above), or the file itself outside a git checkout."""
    done = subprocess.run(["git", "show", ":params.yaml"], cwd=ROOT, capture_output=True, text=True)
    return done.stdout if done.returncode == 0 else (ROOT / "params.yaml").read_text()


def committed_params() -> dict:
    """A fresh dict of the committed params.yaml (the test's own copy)."""
    return yaml.safe_load(committed_params_text())
