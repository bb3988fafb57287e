"""Torch threads for a training process: a fixed count (the default), or on request a fair share of this machine's
cores among the training processes running on it (DVC queue workers, torchrun ranks, a second `dvc exp run`).

A thread count changes the order of floating-point sums, and so the trained model: `train.common.threads: 0` (the
default) takes torch's default thread count here (the physical cores, or OMP_NUM_THREADS), the same whatever else
runs, so the same commit and params give the same models and metrics on one machine; a number fixes the count
anywhere. `threads: share` takes cores // (training processes running now), counted again at every epoch: two
side by side take half each instead of both taking all, which oversubscribes the cores (benchmarks/shared_cpu.py),
but the models then depend on what else ran. Each training process holds an exclusive lock on its own claim file in
a per-user folder under the temp dir while it trains; a claim whose lock is free belongs to a process that ended,
and is removed.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from types import TracebackType
from typing import IO

import torch

try:
    import fcntl
except ImportError:  # Windows: no claims; each process counts only itself
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)


TORCH_DEFAULT_THREADS = torch.get_num_threads()  # before anything sets it: physical cores, or OMP_NUM_THREADS


def machine_cores() -> int:
    """The threads a lone training process takes: torch's own default (physical cores, or OMP_NUM_THREADS, which
    torchrun sets to 1 per rank), so a process alone runs exactly as torch would run it."""
    return TORCH_DEFAULT_THREADS


def claims_folder() -> Path:
    """Where this user's training processes on this machine register."""
    user = os.getuid() if hasattr(os, "getuid") else os.getlogin()
    return Path(tempfile.gettempdir()) / f"ptbxl-multimodal-cpu-{user}"


class CpuShare:
    """This process's claim on the machine's cores while it trains (a context manager); `apply()` sets torch's
    thread count to the requested number, with 0 to torch's default here, with "share" to cores // (training
    processes running now)."""

    def __init__(self, requested: int | str, folder: Path | None = None, cores: int | None = None):
        self.requested = requested
        self.folder = folder or claims_folder()
        self.cores = cores or machine_cores()
        self.threads = 0
        self._path: Path | None = None
        self._file: IO[str] | None = None

    def __enter__(self) -> CpuShare:
        if fcntl is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._path = self.folder / f"{os.getpid()}-{id(self)}.claim"
            self._file = open(self._path, "w")
            fcntl.flock(self._file, fcntl.LOCK_EX)
        self.apply()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._file is not None and self._path is not None:
            self._file.close()
            self._path.unlink(missing_ok=True)
            self._file = None

    def processes(self) -> int:
        """Training processes holding a claim now, this one included."""
        if fcntl is None or self._path is None:
            return 1
        live = 1
        for path in self.folder.glob("*.claim"):
            if path == self._path:
                continue
            try:
                with open(path) as other:
                    try:
                        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except OSError:  # held: a process that is training now
                        live += 1
                        continue
                    path.unlink(missing_ok=True)  # free: its process ended without removing it
            except FileNotFoundError:  # removed meanwhile
                continue
        return live

    def apply(self) -> int:
        """Set torch's thread count for the next epoch and return it."""
        processes = self.processes() if self.requested == "share" else 1
        fixed = self.requested if isinstance(self.requested, int) else 0
        threads = fixed or max(1, self.cores // processes)
        if threads != self.threads:
            if self.threads:
                log.info("torch threads %d -> %d (%d training processes here)", self.threads, threads, processes)
            torch.set_num_threads(threads)
            self.threads = threads
        return threads
