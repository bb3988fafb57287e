"""A record read for prediction: its 12 leads by name, cut into windows of the models' training length by the
rule of signal.windows, each window checked as preprocess checks a training record, and read a block of windows
at a time (data.records.RecordReader), so a recording of any length is scored in bounded memory."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ptbxl_multimodal.data.records import LEADS, RecordReader
from ptbxl_multimodal.errors import RecordError
from ptbxl_multimodal.signal.quality import QualitySettings, quality_problems
from ptbxl_multimodal.signal.windows import window_starts

BLOCK_WINDOWS = 64  # windows read, preprocessed and scored together for one record (at 500 Hz, 15 MB of signal)


@dataclass
class RecordWindows:
    """An open record and the windows of the training length that cover it (start samples at its own rate)."""

    reader: RecordReader
    width: int
    starts: list[int]

    @property
    def fs(self) -> int:
        return self.reader.fs

    @property
    def ignored_leads(self) -> list[str]:
        return self.reader.ignored_leads

    def span_s(self) -> tuple[float, float]:
        """The seconds the windows cover: the first window's start and the last one's end."""
        return round(self.starts[0] / self.fs, 3), round((self.starts[-1] + self.width) / self.fs, 3)

    def blocks(
        self, quality: QualitySettings | None, size: int = BLOCK_WINDOWS
    ) -> Iterator[tuple[list[int], np.ndarray]]:
        """The windows, `size` at a time: (their starts, their signals (k, 12, width) float32 mV). RecordError for a
        window that preprocess would call unusable (flat, dropout, clipped), naming where it starts, or for data
        that disagree with the header (checked as the reads reach the record's end)."""
        for first in range(0, len(self.starts), size):
            starts = self.starts[first : first + size]
            low = starts[0]
            signal = self.reader.read(low, starts[-1] + self.width)
            windows = np.stack([signal[:, s - low : s - low + self.width] for s in starts])
            for s, x in zip(starts, windows):
                problems = quality_problems(x, self.fs, quality, LEADS) if quality is not None else []
                if problems:
                    where = f" (window at {s / self.fs:g} s)" if len(self.starts) > 1 else ""
                    raise RecordError(self.reader.name, f"unusable signal{where}: " + "; ".join(problems))
            yield starts, windows
        self.reader.verify()


def open_windows(path: Path, duration: float) -> RecordWindows:
    """Open a record by lead names and plan the windows the models score (signal.windows); RecordError for a record
    shorter than the training length, or one whose header is unusable. Reads no samples yet."""
    reader = RecordReader(path)
    width = int(round(duration * reader.fs))
    starts = window_starts(reader.n_samples, width)
    if not starts:
        seconds = reader.n_samples / reader.fs
        raise RecordError(
            str(path),
            f"{seconds:.2f} s long, shorter than the {duration:g} s the models were trained on; records are not "
            "padded (the models never saw padding): give a recording of at least that length",
        )
    return RecordWindows(reader, width, starts)
