"""Shared fixtures: the real PTB-XL sample, small mirrors of it, a loopback HTTP server, tiny WFDB records."""

from __future__ import annotations

import hashlib
import http.server
import os
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import wfdb

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = Path(os.environ.get("PTBXL_SAMPLE", ROOT.parent / "shared" / "ptbxl")).resolve()
LEADS = ["I", "II", "III", "AVR", "AVL", "AVF", "V1", "V2", "V3", "V4", "V5", "V6"]

needs_sample = pytest.mark.skipif(
    not (SAMPLE / "ptbxl_database.csv").is_file(),
    reason=f"the PTB-XL sample is not at {SAMPLE} (set PTBXL_SAMPLE to a PhysioNet-layout copy)",
)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_checksums(root: Path) -> None:
    """(Re)write SHA256SUMS.txt for every file under root, PhysioNet style."""
    lines = [f"{sha256(p)} {p.relative_to(root).as_posix()}" for p in sorted(root.rglob("*"))
             if p.is_file() and p.name != "SHA256SUMS.txt"]
    (root / "SHA256SUMS.txt").write_text("\n".join(lines) + "\n")


def build_mirror(dest: Path, ecg_ids: list[int], rates: tuple[int, ...] = (100, 500)) -> Path:
    """A PhysioNet-layout copy of some sample records, with a matching database and checksums."""
    db = pd.read_csv(SAMPLE / "ptbxl_database.csv")
    db = db[db["ecg_id"].isin(ecg_ids)]
    dest.mkdir(parents=True)
    db.to_csv(dest / "ptbxl_database.csv", index=False)
    shutil.copy(SAMPLE / "scp_statements.csv", dest)
    for rate, column in ((100, "filename_lr"), (500, "filename_hr")):
        if rate not in rates:
            continue
        for name in db[column]:
            for ext in ("hea", "dat"):
                target = dest / f"{name}.{ext}"
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(SAMPLE / f"{name}.{ext}", target)
    write_checksums(dest)
    return dest


@pytest.fixture(scope="session")
def mini_mirror(tmp_path_factory) -> Path:
    """20 real records (100 and 500 Hz) of the sample, as a read-only source tree."""
    if not (SAMPLE / "ptbxl_database.csv").is_file():
        pytest.skip(f"the PTB-XL sample is not at {SAMPLE}")
    return build_mirror(tmp_path_factory.mktemp("mirror") / "ptbxl", list(range(1, 21)))


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Static files plus fault injection: cut a transfer short, or answer 500, a given number of times."""

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        server = self.server
        rel = self.path.lstrip("/")
        with server.lock:
            server.requests.append(rel)
            cut = server.cut_once.pop(rel, None)
            fail = server.fail_times.get(rel, 0)
            if fail:
                server.fail_times[rel] = fail - 1
        time.sleep(server.delay)
        if fail:
            self.send_error(500, "injected failure")
            return
        if cut is not None:
            data = (Path(self.directory) / rel).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        super().do_GET()


class Server:
    """A ThreadingHTTPServer on 127.0.0.1 serving a folder; records every request path."""

    def __init__(self, root: Path):
        handler = lambda *a, **k: _Handler(*a, directory=str(root), **k)  # noqa: E731
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.requests, self.httpd.cut_once, self.httpd.fail_times = [], {}, {}
        self.httpd.lock = threading.Lock()
        self.httpd.delay = 0.0  # seconds before each answer (to make a transfer slow enough to interrupt)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    @property
    def requests(self) -> list[str]:
        return self.httpd.requests

    def cut_once(self, rel: str) -> None:
        self.httpd.cut_once[rel] = True

    def slow_down(self, seconds: float) -> None:
        self.httpd.delay = seconds

    def fail(self, rel: str, times: int) -> None:
        self.httpd.fail_times[rel] = times

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


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


def write_record(folder: Path, name: str, signal: np.ndarray, fs: int, leads: list[str] | None = None) -> Path:
    """Write a WFDB record (format 16, mV) with wfdb.wrsamp; signal is (T, n_leads)."""
    folder.mkdir(parents=True, exist_ok=True)
    leads = leads or LEADS[: signal.shape[1]]
    wfdb.wrsamp(name, fs=fs, units=["mV"] * signal.shape[1], sig_name=leads, p_signal=signal,
                fmt=["16"] * signal.shape[1], adc_gain=[1000.0] * signal.shape[1],
                baseline=[0] * signal.shape[1], write_dir=str(folder))
    return folder / name


@pytest.fixture
def ecg_like():
    """A (T, 12) test signal: a few sines per lead, deterministic."""
    def make(fs: int = 100, seconds: float = 10.0) -> np.ndarray:
        t = np.arange(int(fs * seconds)) / fs
        rng = np.random.default_rng(0)
        return np.stack([0.5 * np.sin(2 * np.pi * (1 + i) * t) + 0.05 * rng.standard_normal(t.size)
                         for i in range(12)], axis=1)
    return make
