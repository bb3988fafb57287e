"""Load each branch's input tensor and the labels for a set of records, aligned by ecg_id.

Each split is read once into memory (rows in ecg_id order, one contiguous read per file), which
keeps the training input path far from being the bottleneck: batching is then tensor indexing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from ptbxl_multimodal.io import h5store
from ptbxl_multimodal.errors import StageError


RECORDS = Path("data/processed/records.h5")
INPUTS: dict[str, tuple[Path, str]] = {
    "time": (Path("data/processed/signals.h5"), "signals"),
    "freq": (Path("data/features/fft.h5"), "fft"),
    "spec": (Path("data/features/spectrogram.h5"), "spectrogram"),
    "meta": (RECORDS, "metadata"),
}
# Axes the normalisation statistics are averaged over (0 = records): per lead for the signal,
# per lead and bin for spectra, per lead and frequency for spectrograms, per column for metadata.
NORM_AXES = {"time": (0, 2), "freq": (0,), "spec": (0, 3), "meta": (0,)}


@dataclass
class SplitData:
    """Labels and branch inputs of one split, rows aligned by ecg_id."""

    ecg_id: np.ndarray
    y: np.ndarray  # float32 (n, C)
    inputs: dict[str, np.ndarray]


@dataclass
class LabelTable:
    """records.h5's labels: ecg_id, multi-hot labels, class names and the task they belong to."""

    ecg_id: np.ndarray
    y: np.ndarray
    classes: list[str]
    task: str


def read_labels(records: Path = RECORDS) -> LabelTable:
    """The label table of the processed records."""
    with h5py.File(records, "r") as h5:
        ds = h5["labels"]
        return LabelTable(h5["ecg_id"][...], ds[...], h5store.get_attr(ds, "classes"), h5store.get_attr(ds, "task"))


def _rows_for(file_ids: np.ndarray, wanted: np.ndarray, path: Path) -> np.ndarray:
    rows = np.searchsorted(file_ids, wanted)
    rows = np.clip(rows, 0, len(file_ids) - 1)
    if not np.array_equal(file_ids[rows], wanted):
        missing = wanted[file_ids[rows] != wanted][:5]
        raise StageError(f"{path}: records {missing.tolist()} are missing; the file is older than "
                         f"{RECORDS}. Run `dvc repro` to rebuild it")
    return rows


def load_inputs(branch: str, ecg_ids: np.ndarray, inputs: dict[str, tuple[Path, str]] = INPUTS) -> np.ndarray:
    """The branch's input tensor for the given records (float32, in the order given)."""
    path, name = inputs[branch]
    with h5py.File(path, "r") as h5:
        rows = _rows_for(h5["ecg_id"][...], np.asarray(ecg_ids), path)
        order = np.argsort(rows)
        data = np.empty((rows.size, *h5[name].shape[1:]), dtype=np.float32)
        data[order] = h5[name][np.sort(rows)] if rows.size else data
    return data


def load_split(branches: list[str], ecg_ids: list[int], records: Path = RECORDS,
               inputs: dict[str, tuple[Path, str]] = INPUTS) -> SplitData:
    """Labels and the inputs of `branches` for the records of one split."""
    table = read_labels(records)
    wanted = np.asarray(ecg_ids, dtype=np.int64)
    rows = _rows_for(table.ecg_id, wanted, records)
    return SplitData(wanted, table.y[rows].astype(np.float32),
                     {b: load_inputs(b, wanted, inputs) for b in branches})


def input_spec(branch: str, inputs: dict[str, tuple[Path, str]] = INPUTS) -> dict:
    """The settings that produced the branch's input (sampling rate, filters, feature settings)."""
    path, name = inputs[branch]
    with h5py.File(path, "r") as h5:
        spec = {k: h5store.get_attr(h5, k) for k in sorted(h5.attrs)}
        spec.update({f"{name}_{k}": h5store.get_attr(h5[name], k) for k in sorted(h5[name].attrs)})
        spec["shape"] = list(h5[name].shape[1:])
        for axis in ("frequency_hz", "time_s"):
            if axis in h5:
                spec[axis] = h5[axis][...].tolist()
    return spec


def normalization_stats(branch: str, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std over the branch's normalisation axes, ignoring NaN (missing metadata)."""
    axes = NORM_AXES[branch]
    mean = np.nanmean(x, axis=axes, keepdims=True, dtype=np.float64)
    std = np.nanstd(x, axis=axes, keepdims=True, dtype=np.float64)
    mean, std = np.nan_to_num(mean), np.nan_to_num(std, nan=1.0)
    return mean[0].astype(np.float32), std[0].astype(np.float32)
