"""The per-epoch training log (dvclive), written by rank 0 only and renamed into place when training succeeds."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dvclive import Live

from ptbxl_multimodal.io.atomic import atomic_path
from ptbxl_multimodal.training import distributed


@contextmanager
def training_log(log_dir: Path) -> Iterator[Live | None]:
    """A dvclive Live on rank 0 (None on other ranks, which train but neither log nor write outputs)."""
    if not distributed.context().is_main:
        yield None
        return
    with atomic_path(log_dir) as tmp:
        live = Live(str(tmp), dvcyaml=False, save_dvc_exp=False, report=None)
        yield live
        live.end()
