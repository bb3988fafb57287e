"""A bounded process pool for chunked record work, with an in-process fallback for one worker."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor


def _init_worker(parent: int) -> None:
    """Pool workers die at once on SIGTERM (the stage's clean-exit handler is for the main process: a worker
    raising in the middle of the pool's queue protocol can leave it hung), and exit
    if the main process disappears (SIGKILL), instead of waiting on the queue forever."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def worker_count(requested: int) -> int:
    """0 means every core this process may use."""
    return requested or len(os.sched_getaffinity(0))


class ChunkPool:
    """Maps a function over jobs in order, in worker processes when more than one is useful."""

    def __init__(self, workers: int, jobs: int):
        self.workers = max(1, min(worker_count(workers), jobs))
        self.pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> ChunkPool:
        if self.workers > 1:
            # ProcessPoolExecutor, unlike multiprocessing.Pool, notices a dead worker (BrokenProcessPool)
            # instead of silently replacing it and waiting forever for its result.
            self.pool = ProcessPoolExecutor(
                self.workers, mp_context=mp.get_context("fork"), initializer=_init_worker, initargs=(os.getpid(),)
            )
        return self

    def imap(self, fn: Callable, jobs: Iterable) -> Iterator:
        """Results in job order, with at most two chunks per worker in flight.

        Mapping all jobs at once has no back-pressure: when the consumer (the HDF5 writer) is slower than the
        workers, finished chunks pile up in memory. A bounded window keeps memory flat.
        """
        if self.pool is None:
            yield from map(fn, jobs)
            return
        window: deque = deque()
        for job in jobs:
            window.append(self.pool.submit(fn, job))
            if len(window) >= 2 * self.workers:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            # On an error (or SIGTERM) do not wait: the caller's temporaries get removed right away.
            self.pool.shutdown(wait=exc[0] is None, cancel_futures=True)
