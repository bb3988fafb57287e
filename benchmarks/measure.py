"""Run a Python snippet in a fresh process and measure its wall time and peak memory (whole process tree)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]


def run_measured(code: str, poll: float = 0.05) -> tuple[float, float]:
    """Wall seconds and peak resident memory (MB, summed over the process and its children) of a Python snippet."""
    return run_command([sys.executable, "-c", code], ROOT, poll)


def run_command(cmd: list[str], cwd: Path, poll: float = 0.05) -> tuple[float, float]:
    """Wall seconds and peak resident memory (MB, whole process tree) of a command; raises if it fails."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
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
    if proc.returncode:
        raise RuntimeError(f"benchmark step failed ({proc.returncode}): {cmd} {proc.stderr.read()[-2000:]!r}")
    return wall, peak / 2**20
