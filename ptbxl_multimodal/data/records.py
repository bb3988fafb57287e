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
    to mV from the units their header declares. The whole record is read at once through `RecordReader`.
    """
    reader = RecordReader(path)
    if expected_fs is not None and reader.fs != expected_fs:
        raise RecordError(reader.name, f"sampling rate {reader.fs:g} Hz, expected {expected_fs} Hz")
    n = reader.n_samples
    if n == 0 or n < min_seconds * reader.fs:
        raise RecordError(
            reader.name, f"{n} samples ({n / reader.fs:.2f} s) is shorter than the required {min_seconds:g} s"
        )
    return ECG(reader.read(0, n), reader.fs, reader.ignored_leads)


class RecordReader:
    """An open record: its header read and checked (leads by name, a whole-number rate, units, data size), its
    samples read by range, so a recording of any length is read a block at a time in bounded memory.

    Plain records (every signal in one format-16 data file, as PTB-XL's) are read by seeking in the file; anything
    else through wfdb (`rdrecord` with `sampfrom`/`sampto`). The header's per-lead checksum and first sample are
    checked against the data as it is read in order: when a read reaches the record's end, or by `verify()`.
    """

    def __init__(self, path: str | Path):
        self.name = str(path)
        self._source: _Format16 | _Wfdb = _Format16.open(Path(self.name)) or _Wfdb(self.name)
        src = self._source
        self.order, self.ignored_leads = lead_order(self.name, src.leads)
        if src.fs != int(src.fs):
            raise RecordError(
                self.name, f"sampling rate {src.fs:g} Hz is not a whole number of Hz; resample the record first"
            )
        self.fs = int(src.fs)
        self.n_samples = src.n
        self._divisors = _divisors(self.name, [src.units[i] for i in self.order])
        self._sums = np.zeros(len(src.leads), np.int64)
        self._checked = 0  # samples [0, _checked) are in the checksums
        self._verified = False
        self._first: np.ndarray | None = None

    def read(self, start: int, stop: int) -> np.ndarray:
        """Samples [start, stop) of the 12 standard leads, float32 mV, in the standard order; RecordError for a
        non-finite sample (naming its lead and sample) or data that disagree with the header."""
        digital, physical = self._source.block(start, stop)
        if start == 0 and digital.shape[1]:
            self._first = digital[:, 0]
            if stop < self.n_samples:  # a whole read checks it with the checksums, lead by lead
                self._check_first()
        if start <= self._checked < stop:
            self._sums += digital[:, self._checked - start :].astype(np.int64).sum(axis=1)
            self._checked = stop
            if stop == self.n_samples:
                self._check_sums()
        signal = physical[self.order] if self.order != list(range(len(self.order))) else physical
        if not np.isfinite(signal).all():
            bad = np.argwhere(~np.isfinite(signal))[0]
            raise RecordError(
                self.name, f"non-finite value (NaN/Inf) in lead {LEADS[bad[0]]} at sample {start + bad[1]}"
            )
        if (self._divisors == 1.0).all():
            return np.ascontiguousarray(signal)
        return (signal / self._divisors[:, None]).astype(np.float32)

    def verify(self) -> None:
        """Check the checksums over the whole record, reading what the reads so far left out (in blocks)."""
        while self._checked < self.n_samples:
            start = self._checked
            digital, _ = self._source.block(start, min(self.n_samples, start + VERIFY_BLOCK))
            if start == 0 and digital.shape[1]:
                self._first = digital[:, 0]
            self._sums += digital.astype(np.int64).sum(axis=1)
            self._checked += digital.shape[1]
        if self.n_samples and not self._verified:
            self._check_sums()

    def _check_first(self, lead: int | None = None) -> None:
        """The first sample of each lead (or of `lead`) must be the header's."""
        initial = self._source.initial or []
        for i in range(len(initial)) if lead is None else [lead]:
            expected = initial[i] if i < len(initial) else None
            if expected is not None and self._first is not None and int(self._first[i]) != int(expected):
                raise RecordError(
                    self.name,
                    f"lead {self._source.leads[i]}: first sample {int(self._first[i])} differs from the header's "
                    f"{int(expected)}; the .dat file does not belong to this header; download the record again",
                )

    def _check_sums(self) -> None:
        """Each lead's checksum (16-bit sum of its samples), then its first sample, must match the header."""
        checksums = self._source.checksums or []
        for i, lead in enumerate(self._source.leads):
            expected = checksums[i] if i < len(checksums) else None
            if expected is not None and int(self._sums[i]) % 65536 != int(expected) % 65536:
                raise RecordError(
                    self.name,
                    f"lead {lead}: the data do not match the header's checksum; the .dat file does not belong to "
                    "this header or is corrupt; download the record again",
                )
            self._check_first(i)
        self._verified = True


VERIFY_BLOCK = 1 << 20  # samples per read when checking a record's checksums


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


def _divisors(name: str, units: list[str]) -> np.ndarray:
    """Per standard lead, how many of its header's physical units make one mV; RecordError for other units."""
    divisors = []
    for lead, unit in zip(LEADS, units):
        divisor = UNITS_PER_MV.get((unit or "mV").strip().lower())
        if divisor is None:
            raise RecordError(
                name, f"lead {lead} is in units {unit!r}; only uV, mV and V are supported (fix the record's header)"
            )
        divisors.append(divisor)
    return np.asarray(divisors, np.float32)


class _Wfdb:
    """Any record wfdb reads: the header now, sample ranges on request."""

    def __init__(self, name: str):
        self.name = name
        try:
            header = wfdb.rdheader(name)
        except FileNotFoundError:
            raise RecordError(name, f"header {name}.hea not found; download the dataset again") from None
        except Exception as exc:  # wfdb raises several unrelated types for malformed headers
            raise RecordError(name, f"unreadable header {name}.hea ({type(exc).__name__}: {exc})") from None
        self.leads = tuple(header.sig_name or ())
        self.units = list(header.units or ["mV"] * len(self.leads))
        self.fs, self.n = header.fs, int(header.sig_len or 0)
        self.checksums, self.initial = header.checksum, header.init_value
        lead_order(name, self.leads)  # a missing lead is the error to report, before any data is read
        if self.n:
            _check_data_size(Path(name), header)

    def block(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """Digital samples (n_sig, stop - start) and their physical values (float32; invalid samples NaN)."""
        if stop <= start:
            return np.zeros((len(self.leads), 0), np.int64), np.zeros((len(self.leads), 0), np.float32)
        try:
            record = wfdb.rdrecord(self.name, sampfrom=start, sampto=stop, physical=False)
        except FileNotFoundError as exc:
            raise RecordError(self.name, f"data file {exc.filename} missing; download the dataset again") from None
        except Exception as exc:
            raise RecordError(
                self.name, f"unreadable data ({type(exc).__name__}: {exc}); download the dataset again"
            ) from None
        digital = np.asarray(record.d_signal).T
        return digital, np.asarray(record.dac(), dtype=np.float32).T


class _Format16:
    """The common case, read by seeking in its one file: every signal in one format-16 file, plain gain/baseline fields.

    `open` returns None for anything else (or anything odd), which then goes through wfdb, so wfdb stays the
    reference and produces the error messages. tests/test_records.py checks both agree on the sample.
    """

    def __init__(self, leads: tuple[str, ...], fs: float, n: int, units: list[str], data: Path, fields: list):
        self.leads, self.fs, self.n, self.units, self.data = leads, fs, n, units, data
        gains, baselines = [], []
        for f in fields:
            gain_text, _, _ = f[2].partition("/")
            gain, _, base = gain_text.partition("(")
            gains.append(float(gain) or 200.0)  # WFDB: gain 0 means the default 200 adu/mV
            baselines.append(float(base.rstrip(")")) if base else float(f[4]))
        self.checksums, self.initial = [int(f[6]) for f in fields], [int(f[5]) for f in fields]
        self.offset, self.scale = np.asarray(baselines, np.float32)[:, None], np.asarray(gains, np.float32)[:, None]

    @classmethod
    def open(cls, path: Path) -> _Format16 | None:
        try:
            lines = [
                ln for ln in path.with_suffix(".hea").read_text().splitlines() if ln.strip() and not ln.startswith("#")
            ]
            record = lines[0].split()
            n_sig, fs, n = int(record[1]), float(record[2].split("/")[0]), int(record[3])
            fields = [ln.split() for ln in lines[1 : 1 + n_sig]]
            if len(fields) != n_sig or any(f[1] != "16" or f[0] != fields[0][0] or len(f) < 9 for f in fields):
                return None
            units = [f[2].partition("/")[2] or "mV" for f in fields]
            data = path.parent / fields[0][0]
            if data.stat().st_size != 2 * n * n_sig:
                return None  # let the careful path diagnose it
            return cls(tuple(" ".join(f[8:]) for f in fields), fs, n, units, data, fields)
        except (OSError, ValueError, IndexError):
            return None

    def block(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """Digital samples (n_sig, stop - start) and their physical values (float32; -32768, WFDB's invalid
        sample in format 16, as NaN)."""
        n_sig = len(self.leads)
        with open(self.data, "rb") as f:
            f.seek(2 * n_sig * start)
            raw = np.fromfile(f, dtype="<i2", count=n_sig * max(0, stop - start)).reshape(-1, n_sig).T
        signal = (raw.astype(np.float32) - self.offset) / self.scale
        signal[raw == -32768] = np.nan
        return raw, signal


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
