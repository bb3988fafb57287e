"""Load branch input tensors and the labels for a set of records, aligned by ecg_id.

Each split is read once into memory (rows in ecg_id order, one contiguous read per file), which
keeps the training input path far from being the bottleneck: batching is then tensor indexing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ptbxl_multimodal.errors import StageError
from ptbxl_multimodal.io import h5store

InputFiles = dict[str, tuple[Path, str]]  # input name -> (HDF5 file, dataset)


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


def read_labels(records: Path) -> LabelTable:
    """The label table of the processed records."""
    with h5store.reader(records) as h5:
        ds = h5["labels"]
        return LabelTable(h5["ecg_id"][...], ds[...], h5store.get_attr(ds, "classes"), h5store.get_attr(ds, "task"))


def _rows_for(file_ids: np.ndarray, wanted: np.ndarray, path: Path, records: Path) -> np.ndarray:
    rows = np.searchsorted(file_ids, wanted)
    rows = np.clip(rows, 0, len(file_ids) - 1)
    if not np.array_equal(file_ids[rows], wanted):
        missing = wanted[file_ids[rows] != wanted][:5]
        raise StageError(
            f"{path}: records {missing.tolist()} are missing; the file is older than "
            f"{records}. Run `dvc repro` to rebuild it"
        )
    return rows


def load_input(path: Path, dataset: str, ecg_ids: np.ndarray, records: Path) -> np.ndarray:
    """One input tensor for the given records (float32, in the order given)."""
    with h5store.reader(path) as h5:
        rows = _rows_for(h5["ecg_id"][...], np.asarray(ecg_ids), path, records)
        order = np.argsort(rows)
        data = np.empty((rows.size, *h5[dataset].shape[1:]), dtype=np.float32)
        data[order] = h5[dataset][np.sort(rows)] if rows.size else data
    return data


def load_split(inputs: InputFiles, ecg_ids: list[int], records: Path) -> SplitData:
    """Labels (from `records`) and the named inputs for the records of one split."""
    table = read_labels(records)
    wanted = np.asarray(ecg_ids, dtype=np.int64)
    rows = _rows_for(table.ecg_id, wanted, records, records)
    return SplitData(
        wanted,
        table.y[rows].astype(np.float32),
        {name: load_input(path, dataset, wanted, records) for name, (path, dataset) in inputs.items()},
    )


def normalization_stats(x: np.ndarray, axes: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std over `axes` (0 = records), ignoring NaN (missing metadata); shapes without the record axis."""
    mean = np.nanmean(x, axis=axes, keepdims=True, dtype=np.float64)
    std = np.nanstd(x, axis=axes, keepdims=True, dtype=np.float64)
    mean, std = np.nan_to_num(np.asarray(mean)), np.nan_to_num(np.asarray(std), nan=1.0)
    return mean[0].astype(np.float32), std[0].astype(np.float32)
