"""Docs that cannot drift: the README's runnable blocks run as written, and every path the README and docs/ name
exists (in the repository, or, for the pipeline's outputs, after a run)."""

from __future__ import annotations

import copy
import math
import os
import re
import subprocess

import pytest
import yaml

from helpers import readme
from helpers.project import committed_params, copy_project, env
from helpers.sample import ROOT, SAMPLE
from ptbxl_multimodal.config.params import validate
from ptbxl_multimodal.errors import ParamError

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


PARAM_ROWS = [  # the troubleshooting rows that document params.yaml messages, as written
    cell
    for page in (readme.README, ROOT / "docs/troubleshooting.md")
    for cell in re.findall(r"^\| (`[^|]*`) \|", page.read_text(), re.M)
    if cell.startswith("`invalid params.yaml:`") or "unknown key" in cell
]


@pytest.mark.parametrize("row", PARAM_ROWS)
def test_documented_params_messages_print_as_documented(row):
    """Each documented line is made by setting its key to its value in the committed params; the error has it."""
    lines = [part.strip("`") for part in row.split("<br>")]
    params = copy.deepcopy(committed_params())
    for line in lines[1:] if lines[0] == "invalid params.yaml:" else lines:
        key, value = re.match(r"-? ?([\w.]+)(?: = (.*?))?: ", line).groups()
        *parents, last = key.split(".")
        node = params
        for name in parents:
            node = node.setdefault(name, {})
        node[last] = math.nan if value == "nan" else yaml.safe_load(value) if value else {}
    with pytest.raises(ParamError) as err:
        validate(params)
    printed = str(err.value).replace("\n  - ", "\n- ")
    for line in lines:
        assert line in printed, (line, printed)


def test_every_params_message_the_docs_show_is_tested():
    assert len(PARAM_ROWS) >= 4


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
