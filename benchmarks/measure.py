"""Measure wall time and peak memory (whole process tree) of a command or a Python snippet in a fresh process,
and make throw-away copies of the project for end-to-end runs."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import yaml

ROOT = Path(__file__).resolve().parents[1]


def run_measured(code: str, poll: float = 0.05) -> tuple[float, float]:
    """Wall seconds and peak resident memory (MB, summed over the process and its children) of a Python snippet."""
    return run_command([sys.executable, "-c", code], ROOT, poll)


def run_command(cmd: list[str], cwd: Path, poll: float = 0.05) -> tuple[float, float]:
    """Wall seconds and peak resident memory (MB, whole process tree) of a command; raises if it fails."""
    wall, peak, _ = run_logged(cmd, cwd, poll)
    return wall, peak


def run_logged(cmd: list[str], cwd: Path, poll: float = 0.05) -> tuple[float, float, str]:
    """run_command's figures and the command's standard error (where the stages log, with timestamps)."""
    with tempfile.TemporaryFile("w+") as err:  # a file, not a pipe: a long log cannot fill a buffer and stall
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err)
        ps = psutil.Process(proc.pid)
        peak = 0
        while proc.poll() is None:
            try:
                tree = [ps, *ps.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
            except psutil.Error:
                pass
            time.sleep(poll)
        wall = time.perf_counter() - start
        err.seek(0)
        log = err.read()
    if proc.returncode:
        raise RuntimeError(f"benchmark step failed ({proc.returncode}): {cmd} {log[-2000:]!r}")
    return wall, peak / 2**20, log


def make_project(dest: Path, source: Path) -> Path:
    """The tracked project files, committed in a fresh git repository, with download.source pointed at `source`."""
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    for rel in files:
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, dest / rel)
    params = yaml.safe_load((dest / "params.yaml").read_text())
    params["download"]["source"] = str(source.resolve())
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    subprocess.run(["git", "init", "-q"], cwd=dest, check=True)
    git = ["git", "-c", "user.name=benchmark", "-c", "user.email=benchmark@localhost"]
    subprocess.run(["git", "add", "-A"], cwd=dest, check=True)
    # dvclive needs a commit; empty when `dest` is a kept copy of an unchanged project
    subprocess.run([*git, "commit", "-qm", "benchmark copy", "--allow-empty"], cwd=dest, check=True)
    return dest
