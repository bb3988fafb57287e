"""Shared fixtures: mirrors of the real PTB-XL sample, a pipeline run on it, a loopback HTTP server, an ECG-like
signal."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from helpers import records
from helpers.http_server import Server
from helpers.project import dvc, git, make_project
from helpers.sample import ROOT, SAMPLE, build_mirror

sys.path.insert(0, str(ROOT / "scripts"))  # the studies' and summaries' code (scripts/*.py), tested like the library


@pytest.fixture(scope="session")
def mini_mirror(tmp_path_factory) -> Path:
    """20 real records (100 and 500 Hz) of the sample, as a read-only source tree."""
    return build_mirror(tmp_path_factory.mktemp("mirror") / "ptbxl", list(range(1, 21)))


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory) -> tuple[Path, str]:
    """The project run once end to end on the sample and committed: (folder, `dvc repro` output). Shared by the
    end-to-end modules, which work on copies (helpers.project.copy_project) and never change it."""
    proj = make_project(tmp_path_factory.mktemp("run") / "proj", str(SAMPLE))
    done = dvc(proj, "repro")
    git(proj, "add", "-A")
    git(proj, "commit", "-qm", "baseline run")
    return proj, done.stdout


@pytest.fixture
def serve():
    """Factory: serve(folder) -> running Server; all are shut down after the test."""
    servers = []

    def start(root: Path) -> Server:
        servers.append(Server(root))
        return servers[-1]

    yield start
    for s in servers:
        s.close()


@pytest.fixture
def ecg_like():
    """make(fs, seconds) -> a (T, 12) deterministic test signal."""
    return records.ecg_like
