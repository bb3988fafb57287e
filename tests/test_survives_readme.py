"""The suite's fast part still passes after params.yaml was changed the way the README does it.

`dvc exp run -S ...` rewrites the workspace's params.yaml (without staging it); tests read the staged version,
so a user's experiments cannot break them. Checked here on a copy of the project, with DVC's own -S code.
"""

import subprocess
import sys

import pytest
from dvc.utils.hydra import apply_overrides

from helpers.project import committed_params_text, env, git, make_project
from helpers.sample import SAMPLE

pytestmark = pytest.mark.slow

README_CHANGES = [
    "download.source=../shared/ptbxl",
    "fusion.branches=[time,meta]",
    "train.common.seed=7",
    "download.sampling_rate=500",
    "train.common.epochs=50",
]
ONCE_BROKEN = [
    "tests/test_params.py",
    "tests/test_models.py",
    "tests/test_overrides.py",
    "tests/test_download.py::test_killed_download_resumes",
]


@pytest.mark.parametrize("committed", [False, True], ids=["experiment", "committed"])
def test_fast_tests_pass_after_the_readme_changed_params(tmp_path, committed):
    """Changed as `dvc exp run -S` does (not staged), or committed, as a user who keeps PTB-XL at /data/ptb-xl
    does with download.source: every test sets the params it relies on."""
    project = make_project(tmp_path / "proj", str(SAMPLE))
    (project / "params.yaml").write_text(committed_params_text())  # the project's own defaults, committed
    git(project, "commit", "-qam", "defaults")
    changes = [*README_CHANGES, "download.source=/data/ptb-xl"] if committed else README_CHANGES
    apply_overrides(project / "params.yaml", changes)
    assert "fusion" in (project / "params.yaml").read_text()  # changed
    which = ONCE_BROKEN
    if committed:
        git(project, "commit", "-qam", "my own PTB-XL copy and settings")
        which = []  # all the fast tests
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-m", "not slow", "-p", "no:cacheprovider", *which],
        cwd=project,
        env={**env(), "PYTHONPATH": str(project), "PTBXL_SAMPLE": str(SAMPLE)},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert " passed" in done.stdout.splitlines()[-1]
