"""The per-epoch training log (dvclive), written by rank 0 only and renamed into place when training succeeds."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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


def summarize_selected(live: Live, history: list[dict[str, Any]], best_epoch: int) -> None:
    """Make the log's summary (metrics.json, what `dvc metrics` and `dvc exp show` compare) describe the epoch
    whose weights were kept, not the last one trained."""
    best = history[best_epoch - 1]
    live.summary = {
        "best_epoch": best_epoch,
        "epochs_run": len(history),
        "train": {"loss": best["train_loss"]},
        "val": {"loss": best["val_loss"], "macro_auc": best["val_macro_auc"]},
    }
    live.step = best_epoch
