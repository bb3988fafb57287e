"""Shared fixtures: mirrors of the real PTB-XL sample, a loopback HTTP server, an ECG-like signal."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import records
from helpers.http_server import Server
from helpers.sample import SAMPLE, build_mirror


@pytest.fixture(scope="session")
def mini_mirror(tmp_path_factory) -> Path:
    """20 real records (100 and 500 Hz) of the sample, as a read-only source tree."""
    if not (SAMPLE / "ptbxl_database.csv").is_file():
        pytest.skip(f"the PTB-XL sample is not at {SAMPLE}")
    return build_mirror(tmp_path_factory.mktemp("mirror") / "ptbxl", list(range(1, 21)))


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
