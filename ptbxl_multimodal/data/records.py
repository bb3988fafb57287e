"""Read one WFDB record with wfdb and check it is what the pipeline expects.

Leads are found by their header names, not their position: any order is read back in the standard order,
extra leads (e.g. the Frank leads vx, vy, vz of PhysioNet's PTB database) are set aside and named, and a
record without one of the 12 standard leads is refused, naming the lead.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import wfdb

from ptbxl_multimodal.errors import RecordError

LEADS = ("I", "II", "III", "AVR", "AVL", "AVF", "V1", "V2", "V3", "V4", "V5", "V6")
BYTES_PER_SAMPLE = {"16": 2, "80": 1, "212": 1.5, "24": 3, "32": 4}


# header units -> how many of them make one mV (divided by, so that a uV record at 1 adu/uV gives exactly the
# float32 millivolts of the same samples stored at 1000 adu/mV)
UNITS_PER_MV = {"mv": 1.0, "uv": 1e3, "μv": 1e3, "µv": 1e3, "v": 1e-3}


class ECG(NamedTuple):
    """A record's 12 standard leads (float32, mV, standard order), its sampling rate, and the header's other
    leads, which were not read."""

    signal: np.ndarray
    fs: int
    ignored_leads: list[str]


def read_record(path: str | Path, expected_fs: int | None = None, min_seconds: float = 0.0) -> tuple[np.ndarray, int]:
    """The signal as float32 (12, T) in mV in the standard lead order, and its sampling rate (`read_ecg`)."""
    ecg = read_ecg(path, expected_fs, min_seconds)
    return ecg.signal, ecg.fs


def read_ecg(path: str | Path, expected_fs: int | None = None, min_seconds: float = 0.0) -> ECG:
    """Read a record's 12 standard leads by their header names, in mV, in the standard order.

    Raises RecordError for a missing or unparsable file, a missing or repeated standard lead, a sampling
    rate other than `expected_fs`, a data file that disagrees with its header (size, checksum, first sample),
    physical units other than uV, mV or V, or non-finite samples in a lead that is read. Signals are converted
    to mV from the units their header declares. Plain records (one format-16 data file, as PTB-XL's) take a
    fast path; anything else is read by wfdb.
    """
    name = str(path)
    fast = _read_format16(Path(name))
    if fast is not None:
        leads, fs, signal, units = fast
    else:
        leads, fs, signal, units = _read_with_wfdb(name)
    order, ignored = lead_order(name, leads)
    if fs != int(fs):
        raise RecordError(name, f"sampling rate {fs:g} Hz is not a whole number of Hz; resample the record first")
    if expected_fs is not None and fs != expected_fs:
        raise RecordError(name, f"sampling rate {fs:g} Hz, expected {expected_fs} Hz")
    n = signal.shape[1]
    if n == 0 or n < min_seconds * fs:
        raise RecordError(name, f"{n} samples ({n / fs:.2f} s) is shorter than the required {min_seconds:g} s")
    if order != list(range(len(leads))):
        signal, units = signal[order], [units[i] for i in order]
    if not np.isfinite(signal).all():
        bad = np.argwhere(~np.isfinite(signal))[0]
        raise RecordError(name, f"non-finite value (NaN/Inf) in lead {LEADS[bad[0]]} at sample {bad[1]}")
    return ECG(_to_millivolts(name, signal, units), int(fs), ignored)


def lead_order(name: str, leads: tuple[str, ...]) -> tuple[list[int], list[str]]:
    """Where each standard lead sits among a header's lead names (matched case-insensitively: aVR = AVR = avr),
    and the names of the other leads; RecordError naming a standard lead that is missing or repeated."""
    found = [lead.strip().upper() for lead in leads]
    missing = [lead for lead in LEADS if lead not in found]
    repeated = sorted({lead for lead in LEADS if found.count(lead) > 1})
    if missing or repeated:
        problem = f"lead(s) {', '.join(missing)} missing" if missing else f"lead(s) {', '.join(repeated)} repeated"
        raise RecordError(
            name, f"{problem}: the model needs the 12 standard leads {list(LEADS)}; the header lists {list(leads)}"
        )
    order = [found.index(lead) for lead in LEADS]
    return order, [leads[i] for i in range(len(leads)) if i not in order]


def _to_millivolts(name: str, signal: np.ndarray, units: list[str]) -> np.ndarray:
    """Scale each lead from its header's physical units to mV."""
    divisors = []
    for lead, unit in zip(LEADS, units):
        divisor = UNITS_PER_MV.get((unit or "mV").strip().lower())
        if divisor is None:
            raise RecordError(
                name, f"lead {lead} is in units {unit!r}; only uV, mV and V are supported (fix the record's header)"
            )
        divisors.append(divisor)
    if all(d == 1.0 for d in divisors):
        return signal
    return (signal / np.asarray(divisors, np.float32)[:, None]).astype(np.float32)


def _read_with_wfdb(name: str) -> tuple[tuple[str, ...], float, np.ndarray, list[str]]:
    try:
        header = wfdb.rdheader(name)
    except FileNotFoundError:
        raise RecordError(name, f"header {name}.hea not found; download the dataset again") from None
    except Exception as exc:  # wfdb raises several unrelated types for malformed headers
        raise RecordError(name, f"unreadable header {name}.hea ({type(exc).__name__}: {exc})") from None
    leads = tuple(header.sig_name or ())
    units = list(header.units or ["mV"] * len(leads))
    lead_order(name, leads)  # a missing lead is the error to report, before any data is read
    if not header.sig_len:
        return leads, header.fs, np.zeros((len(leads), 0), np.float32), units
    _check_data_size(Path(name), header)
    try:
        record = wfdb.rdrecord(name, physical=False)
    except FileNotFoundError as exc:
        raise RecordError(name, f"data file {exc.filename} missing; download the dataset again") from None
    except Exception as exc:
        raise RecordError(name, f"unreadable data ({type(exc).__name__}: {exc}); download the dataset again") from None
    _check_samples(name, record.d_signal.T, header.checksum, header.init_value, leads)
    physical = record.dac()  # invalid samples become NaN
    return leads, header.fs, np.ascontiguousarray(np.asarray(physical, dtype=np.float32).T), units


def _check_samples(
    name: str, digital: np.ndarray, checksums: list | None, initial: list | None, leads: tuple[str, ...]
) -> None:
    """The header's per-lead checksum (16-bit sum of the samples) and first sample must match the data."""
    digital = np.asarray(digital, dtype=np.int64)
    for i, lead in enumerate(leads[: digital.shape[0]]):
        if checksums and checksums[i] is not None and int(digital[i].sum()) % 65536 != int(checksums[i]) % 65536:
            raise RecordError(
                name,
                f"lead {lead}: the data do not match the header's checksum; the .dat file does not belong to "
                "this header or is corrupt; download the record again",
            )
        if initial and initial[i] is not None and digital.shape[1] and int(digital[i, 0]) != int(initial[i]):
            raise RecordError(
                name,
                f"lead {lead}: first sample {int(digital[i, 0])} differs from the header's {int(initial[i])}; "
                "the .dat file does not belong to this header; download the record again",
            )


def _read_format16(path: Path) -> tuple[tuple[str, ...], float, np.ndarray, list[str]] | None:
    """Fast reader for the common case: every signal in one format-16 file, plain gain/baseline fields.

    Returns None for anything else (or anything odd), which then goes through wfdb, so wfdb stays the
    reference and produces the error messages. tests/test_records.py checks both agree on the sample.
    """
    try:
        lines = [
            ln for ln in path.with_suffix(".hea").read_text().splitlines() if ln.strip() and not ln.startswith("#")
        ]
        record = lines[0].split()
        n_sig, fs, n = int(record[1]), float(record[2].split("/")[0]), int(record[3])
        fields = [ln.split() for ln in lines[1 : 1 + n_sig]]
        if len(fields) != n_sig or any(f[1] != "16" or f[0] != fields[0][0] or len(f) < 9 for f in fields):
            return None
        gains, baselines, units = [], [], []
        for f in fields:
            gain_text, _, unit = f[2].partition("/")
            gain, _, base = gain_text.partition("(")
            gains.append(float(gain) or 200.0)  # WFDB: gain 0 means the default 200 adu/mV
            baselines.append(float(base.rstrip(")")) if base else float(f[4]))
            units.append(unit or "mV")
        checksums, initial = [int(f[6]) for f in fields], [int(f[5]) for f in fields]
        data_file = path.parent / fields[0][0]
        if data_file.stat().st_size != 2 * n * n_sig:
            return None  # let the careful path diagnose it
        raw = np.fromfile(data_file, dtype="<i2").reshape(n, n_sig).T
    except (OSError, ValueError, IndexError):
        return None
    leads = tuple(" ".join(f[8:]) for f in fields)
    _check_samples(str(path), raw, checksums, initial, leads)
    offset, scale = np.asarray(baselines, np.float32)[:, None], np.asarray(gains, np.float32)[:, None]
    signal = (raw.astype(np.float32) - offset) / scale
    signal[raw == -32768] = np.nan  # WFDB's invalid-sample marker in format 16
    return leads, fs, np.ascontiguousarray(signal), units


def _check_data_size(path: Path, header: wfdb.Record) -> None:
    """Each data file's size must be what the header promises: shorter is truncated, longer is not this record."""
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
            raise RecordError(
                str(path),
                f"data file {data} is truncated ({actual} bytes, header needs {int(size)}); download it again",
            )
        if actual > int(np.ceil(size)):
            raise RecordError(
                str(path),
                f"data file {data} is longer than its header says ({actual} bytes, header describes {int(size)}): "
                "header and data disagree; download the record again",
            )
