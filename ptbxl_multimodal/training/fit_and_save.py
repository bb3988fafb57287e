"""The one path from a model to its saved checkpoint, shared by the branch trainers, the fold models and the
fusion heads: fit (logged to dvclive on rank 0 when a log folder is given), build the checkpoint, fit its
calibration and thresholds on validation logits computed as evaluate and predict compute them, save."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from torch import nn

from ptbxl_multimodal import checkpoints
from ptbxl_multimodal.training import distributed
from ptbxl_multimodal.training.decisions import fit_decisions
from ptbxl_multimodal.training.live_log import summarize_selected, training_log
from ptbxl_multimodal.training.loop import FitResult

C = TypeVar("C", checkpoints.BranchCheckpoint, checkpoints.FusionCheckpoint)
M = TypeVar("M", bound=nn.Module)


def fit_and_save(
    fit: Callable[[Any], tuple[M, FitResult]],
    checkpoint: Callable[[M, FitResult], C],
    val_logits: Callable[[C], np.ndarray],
    y_val: np.ndarray,
    calibration_method: str,
    out: Path,
    log_dir: Path | None = None,
) -> C | None:
    """`fit(live)` -> (model, result), live being a dvclive Live on rank 0 with `log_dir` (else None); then, on
    rank 0, `checkpoint(model, result)` with its decisions fitted on (`y_val`, `val_logits(checkpoint)`), saved to
    `out`. Returns the checkpoint, or None on the other ranks of a data-parallel run (they train, write nothing)."""
    with training_log(log_dir) if log_dir is not None else contextlib.nullcontext() as live:
        model, result = fit(live)
        if not distributed.context().is_main:
            return None
        if live is not None:
            summarize_selected(live, result.history, result.best_epoch)
        ckpt = checkpoint(model, result)
        fit_decisions(ckpt, y_val, val_logits(ckpt), calibration_method)
        checkpoints.save(ckpt, out)
    return ckpt
