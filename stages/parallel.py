"""A bounded process pool for chunked record work, with an in-process fallback for one worker."""

from __future__ import annotations

import multiprocessing as mp
import os
from collections import deque
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
        """Results in job order, with at most two chunks per worker in flight.

        Pool.imap alone has no back-pressure: when the consumer (the HDF5 writer) is slower than the
        workers, finished chunks pile up in memory. A bounded window keeps memory flat.
        """
        if self.pool is None:
            yield from map(fn, jobs)
            return
        window: deque = deque()
        for job in jobs:
            window.append(self.pool.apply_async(fn, (job,)))
            if len(window) >= 2 * self.workers:
                yield window.popleft().get()
        while window:
            yield window.popleft().get()

    def __exit__(self, *exc: object) -> bool:
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()
        return False
