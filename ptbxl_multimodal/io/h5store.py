"""HDF5 storage shared by the stages: record-chunked, appendable, deterministic datasets.

Each record is its own chunk, so a loader can read any record without reading the file, and
writes never record timestamps, so the same inputs give byte-identical files (DVC sees no change).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import h5py
import numpy as np

COMPRESSION = {
    "none": {},
    "gzip": {"compression": "gzip", "compression_opts": 4, "shuffle": True},
    "lzf": {"compression": "lzf", "shuffle": True},
}


class _DiscardAfterError(io.FileIO):
    """A file that, once a write has failed, accepts and drops every later write.

    HDF5 retries its flush when closing; if that fails too, the library keeps the file open and crashes the
    interpreter at exit (a segfault after the error message). Dropping the retries lets HDF5 close the file,
    while the first OSError (ENOSPC, EFBIG) still reaches the caller, whose temporary output is deleted.
    """

    failed = False

    def write(self, data) -> int:  # noqa: ANN001 - any buffer
        if self.failed:
            return memoryview(data).nbytes
        try:
            return super().write(data)
        except OSError:
            self.failed = True
            raise

    def truncate(self, size: int | None = None) -> int:
        if self.failed:
            return self.tell() if size is None else size
        try:
            return super().truncate(size)
        except OSError:
            self.failed = True
            raise


@contextmanager
def writer(path: Path) -> Iterator[h5py.File]:
    """A new HDF5 file for writing; a full disk or a file-size limit raises OSError cleanly (see above).
    Same bytes and speed as HDF5's own driver (measured on 300 MB)."""
    with _DiscardAfterError(path, "w+") as fh, h5py.File(fh, "w") as h5:
        yield h5


def create_record_dataset(
    h5: h5py.File, name: str, tail: tuple[int, ...], dtype: Any, compression: str = "none"
) -> h5py.Dataset:
    """An empty (0, *tail) dataset that grows along axis 0, one chunk per record."""
    return h5.create_dataset(
        name,
        shape=(0, *tail),
        maxshape=(None, *tail),
        dtype=dtype,
        chunks=(1, *tail),
        track_times=False,
        **COMPRESSION[compression],
    )


def append(ds: h5py.Dataset, block: np.ndarray) -> None:
    """Append a block of records along axis 0."""
    start = ds.shape[0]
    ds.resize(start + block.shape[0], axis=0)
    ds[start:] = block


def write_small(h5: h5py.File, name: str, data: np.ndarray, **attrs: Any) -> h5py.Dataset:
    """A small dataset (ids, labels, axes) written in one piece, with attributes."""
    ds = h5.create_dataset(name, data=data, track_times=False)
    set_attrs(ds, attrs)
    return ds


def set_attrs(obj: h5py.HLObject, attrs: dict[str, Any]) -> None:
    """Set attributes; lists of strings and dicts are stored as JSON so they round-trip exactly."""
    for key, value in attrs.items():
        if isinstance(value, (dict, list, tuple)):
            value = json.dumps(value, sort_keys=True)
        obj.attrs[key] = value


def get_attr(obj: h5py.HLObject, key: str) -> Any:
    """Read an attribute written by set_attrs (JSON strings decoded)."""
    value = obj.attrs[key]
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, str) and value[:1] in "[{":
        return json.loads(value)
    if isinstance(value, np.generic):
        return value.item()
    return value
