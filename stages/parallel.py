"""A bounded process pool for chunked record work, with an in-process fallback for one worker."""

from __future__ import annotations

import multiprocessing as mp
import os
from typing import Callable, Iterable, Iterator


def worker_count(requested: int) -> int:
    """0 means every core this process may use."""
    return requested or len(os.sched_getaffinity(0))


class ChunkPool:
    """Maps a function over jobs in order, in worker processes when more than one is useful."""

    def __init__(self, workers: int, jobs: int):
        self.workers = max(1, min(worker_count(workers), jobs))
        self.pool = None

    def __enter__(self) -> ChunkPool:
        if self.workers > 1:
            self.pool = mp.get_context("fork").Pool(self.workers)
        return self

    def imap(self, fn: Callable, jobs: Iterable) -> Iterator:
        """Results in job order; at most a few chunks are in flight, so memory stays bounded."""
        if self.pool is None:
            return map(fn, jobs)
        return self.pool.imap(fn, jobs)

    def __exit__(self, *exc: object) -> bool:
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()
        return False
