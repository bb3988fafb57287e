"""Read one PTB-XL WFDB record with wfdb and check it is what the pipeline expects."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import wfdb

from .errors import PipelineError

LEADS = ("I", "II", "III", "AVR", "AVL", "AVF", "V1", "V2", "V3", "V4", "V5", "V6")
BYTES_PER_SAMPLE = {"16": 2, "80": 1, "212": 1.5, "24": 3, "32": 4}


class RecordError(PipelineError, ValueError):
    """A record is corrupt, truncated or inconsistent; the message names it and says what to do."""

    def __init__(self, record: str, problem: str):
        super().__init__(f"record {record}: {problem}")
        self.record = record
        self.problem = problem


def read_record(path: str | Path, expected_fs: int | None = None, min_seconds: float = 0.0) -> tuple[np.ndarray, int]:
    """Return the signal as float32 (12, T) in mV in the standard lead order, and its sampling rate.

    Raises RecordError for a missing or unparsable file, the wrong lead set, a sampling rate other
    than `expected_fs`, a data file whose size disagrees with its header, or non-finite samples.
    """
    name = str(path)
    try:
        header = wfdb.rdheader(name)
    except FileNotFoundError:
        raise RecordError(name, f"header {name}.hea not found; download the dataset again") from None
    except Exception as exc:  # wfdb raises several unrelated types for malformed headers
        raise RecordError(name, f"unreadable header {name}.hea ({type(exc).__name__}: {exc})") from None
    leads = tuple(s.upper() for s in (header.sig_name or ()))
    if leads != LEADS:
        raise RecordError(name, f"expected the 12 standard leads {list(LEADS)}, header lists {list(header.sig_name or [])}")
    if expected_fs is not None and header.fs != expected_fs:
        raise RecordError(name, f"sampling rate {header.fs} Hz, expected {expected_fs} Hz")
    if not header.sig_len or header.sig_len < min_seconds * header.fs:
        raise RecordError(name, f"{header.sig_len} samples ({(header.sig_len or 0) / header.fs:.2f} s) is shorter "
                                f"than the required {min_seconds:g} s")
    _check_data_size(Path(name), header)
    try:
        record = wfdb.rdrecord(name)
    except FileNotFoundError as exc:
        raise RecordError(name, f"data file {exc.filename} missing; download the dataset again") from None
    except Exception as exc:
        raise RecordError(name, f"unreadable data ({type(exc).__name__}: {exc}); download the dataset again") from None
    signal = np.asarray(record.p_signal, dtype=np.float32).T
    if not np.isfinite(signal).all():
        bad = np.argwhere(~np.isfinite(signal))[0]
        raise RecordError(name, f"non-finite value (NaN/Inf) in lead {LEADS[bad[0]]} at sample {bad[1]}")
    return np.ascontiguousarray(signal), int(header.fs)


def _check_data_size(path: Path, header: wfdb.Record) -> None:
    """Compare each data file's size with what the header promises (catches truncation)."""
    expected: dict[str, float] = {}
    for fname, fmt in zip(header.file_name, header.fmt):
        if fmt not in BYTES_PER_SAMPLE:
            return  # exotic format: leave the check to wfdb
        expected[fname] = expected.get(fname, 0) + BYTES_PER_SAMPLE[fmt] * header.sig_len
    for fname, size in expected.items():
        data = path.parent / fname
        if not data.exists():
            raise RecordError(str(path), f"header points to data file {data}, which does not exist")
        actual = data.stat().st_size
        if actual < int(size):
            raise RecordError(str(path), f"data file {data} is truncated ({actual} bytes, header needs {int(size)}); "
                                         "download it again")
