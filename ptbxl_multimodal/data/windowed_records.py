"""A record read for prediction: its 12 leads by name, cut into windows of the models' training length by the
rule of signal.windows, each window checked as preprocess checks a training record."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ptbxl_multimodal.data.records import LEADS, read_ecg
from ptbxl_multimodal.errors import RecordError
from ptbxl_multimodal.signal.quality import QualitySettings, quality_problems
from ptbxl_multimodal.signal.windows import window_starts


@dataclass
class Windows:
    """A record cut into windows of the training length, at its own sampling rate."""

    fs: int
    starts: list[int]
    signals: list[np.ndarray]  # (12, width) each
    ignored_leads: list[str]


def record_windows(path: Path, duration: float, quality: QualitySettings | None) -> Windows:
    """Read a record by lead names and cut it into the windows the models score (signal.windows); RecordError
    for a record shorter than the training length or with an unusable window."""
    ecg = read_ecg(path)
    width = int(round(duration * ecg.fs))
    starts = window_starts(ecg.signal.shape[1], width)
    if not starts:
        seconds = ecg.signal.shape[1] / ecg.fs
        raise RecordError(
            str(path),
            f"{seconds:.2f} s long, shorter than the {duration:g} s the models were trained on; records are not "
            "padded (the models never saw padding): give a recording of at least that length",
        )
    signals = [ecg.signal[:, s : s + width] for s in starts]
    for s, x in zip(starts, signals):
        problems = quality_problems(x, ecg.fs, quality, LEADS) if quality is not None else []
        if problems:
            where = f" (window at {s / ecg.fs:g} s)" if len(starts) > 1 else ""
            raise RecordError(str(path), f"unusable signal{where}: " + "; ".join(problems))
    return Windows(ecg.fs, starts, signals, ecg.ignored_leads)
