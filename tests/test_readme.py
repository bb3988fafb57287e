"""Docs that cannot drift: the README's runnable blocks run as written, and every path the README and docs/ name
exists (in the repository, or, for the pipeline's outputs, after a run)."""

from __future__ import annotations

import os
import subprocess

import pytest

from helpers import readme
from helpers.project import copy_project, env
from helpers.sample import ROOT, SAMPLE

RUNNABLE = [cmds for marker, cmds in readme.blocks() if marker == readme.RUNNABLE]


def test_the_readme_is_a_short_read_with_runnable_blocks():
    assert len(readme.README.read_text().splitlines()) <= 250
    assert len(RUNNABLE) >= 2
    assert {"docs/pipeline.md", "scripts/cv.py", "tests/data/ptbxl/README.md"} <= readme.named_paths(readme.README)[0]


@pytest.mark.parametrize("page", readme.DOCS, ids=lambda p: p.name)
def test_every_repository_path_a_page_names_exists(page):
    repo, _ = readme.named_paths(page)
    missing = sorted(p for p in repo if not (ROOT / p).exists() and not (ROOT / "ptbxl_multimodal" / p).exists())
    assert not missing, f"{page.name} names paths that do not exist: {missing}"


@pytest.mark.slow
def test_every_output_the_readme_names_exists_after_a_run(pipeline_run):
    _, outputs = readme.named_paths(readme.README)
    assert {"models/", "metrics/eval/", "reports/report.md"} <= outputs
    missing = sorted(p for p in outputs if not (pipeline_run[0] / p).exists())
    assert not missing, f"README names outputs a run does not make: {missing}"


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(RUNNABLE)))
def test_runnable_readme_blocks_run_as_written(pipeline_run, tmp_path, index):
    """Each command of the block in order, in a copy of a finished run; the sample's path stands for ../shared."""
    project = copy_project(pipeline_run[0], tmp_path / "proj")
    identity = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    for command in RUNNABLE[index]:
        command = command.replace("../shared/ptbxl", os.path.relpath(SAMPLE, project))  # relative, as written
        done = subprocess.run(
            ["bash", "-c", command], cwd=project, env={**env(), **identity}, capture_output=True, text=True
        )
        assert done.returncode == 0, (command, done.stdout[-2000:], done.stderr[-2000:])
        assert "Traceback" not in done.stdout + done.stderr, command
