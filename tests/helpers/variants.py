"""Real sample records rewritten as other devices export them: leads reordered or added, other rates,
durations and units. Digital samples are copied where the variant allows, so a variant that changes only the
layout must read back to exactly the original's millivolts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import wfdb
from scipy.signal import resample_poly

from helpers.sample import SAMPLE

FRANK = ["vx", "vy", "vz"]  # the extra leads of PhysioNet's PTB database


def original(ecg_id: int, fs: int = 100) -> Path:
    """The sample's record `ecg_id` at 100 or 500 Hz."""
    folder = "records100" if fs == 100 else "records500"
    suffix = "lr" if fs == 100 else "hr"
    return SAMPLE / f"{folder}/{ecg_id // 1000 * 1000:05d}/{ecg_id:05d}_{suffix}"


def _write(folder: Path, name: str, fs: float, names: list[str], digital: np.ndarray, gain: float, unit: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    n = digital.shape[1]
    wfdb.wrsamp(
        name,
        fs=fs,
        units=[unit] * n,
        sig_name=names,
        d_signal=np.ascontiguousarray(digital, dtype=np.int16) if digital.dtype != np.int16 else digital,
        fmt=["16"] * n,
        adc_gain=[gain] * n,
        baseline=[0] * n,
        write_dir=str(folder),
    )
    return folder / name


def _digital(base: Path) -> tuple[wfdb.Record, np.ndarray]:
    rec = wfdb.rdrecord(str(base), physical=False)
    return rec, rec.d_signal  # (T, leads), PTB-XL: 1000 adu per mV, baseline 0


def reordered(base: Path, folder: Path, order: list[int]) -> Path:
    """The same samples with the leads stored in another order (names travel with their columns), spelt as
    many carts do (aVR, not AVR)."""
    rec, d = _digital(base)
    spelling = {"AVR": "aVR", "AVL": "aVL", "AVF": "aVF"}
    names = [spelling.get(rec.sig_name[i], rec.sig_name[i]) for i in order]
    return _write(folder, "reordered", rec.fs, names, d[:, order], rec.adc_gain[0], "mV")


def fifteen_leads(base: Path, folder: Path) -> Path:
    """The 12 leads plus three Frank-style leads (vx, vy, vz: here simple sums of the others), interleaved."""
    rec, d = _digital(base)
    frank = np.stack([d[:, 0] // 2 + d[:, 6] // 2, d[:, 1] // 2 - d[:, 8] // 2, d[:, 10] // 2], axis=1)
    stacked = np.concatenate([frank[:, :1], d[:, :6], frank[:, 1:], d[:, 6:]], axis=1)
    names = [FRANK[0], *rec.sig_name[:6], *FRANK[1:], *rec.sig_name[6:]]
    return _write(folder, "fifteen", rec.fs, names, stacked, rec.adc_gain[0], "mV")


def in_microvolts(base: Path, folder: Path) -> Path:
    """The same digital samples, declared in uV at 1 adu/uV (= 1000 adu/mV): the same millivolts."""
    rec, d = _digital(base)
    return _write(folder, "microvolts", rec.fs, list(rec.sig_name), d, rec.adc_gain[0] / 1000, "uV")


def resampled(base: Path, folder: Path, fs: int) -> Path:
    """The record resampled (polyphase) to `fs` Hz, stored at 1000 adu/mV."""
    rec = wfdb.rdrecord(str(base))
    up, down = fs, int(rec.fs)
    g = np.gcd(up, down)
    x = resample_poly(rec.p_signal, up // g, down // g, axis=0)
    return _write(folder, f"at{fs}", fs, list(rec.sig_name), np.round(x * 1000), 1000.0, "mV")


def cut(base: Path, folder: Path, seconds: float, start: float = 0.0) -> Path:
    """`seconds` of the record from `start` (s)."""
    rec, d = _digital(base)
    a = int(start * rec.fs)
    part = d[a : a + int(seconds * rec.fs)]
    return _write(folder, f"cut{start:g}-{seconds:g}", rec.fs, list(rec.sig_name), part, 1000.0, "mV")


def doubled(base: Path, folder: Path) -> Path:
    """A 20 s record: the 10 s record twice in a row (windows at 0 s and 10 s are the original exactly)."""
    return repeated(base, folder, 2, "doubled")


def repeated(base: Path, folder: Path, times: int, name: str = "") -> Path:
    """The record `times` times in a row (a long recording made of a real one)."""
    rec, d = _digital(base)
    return _write(folder, name or f"x{times}", rec.fs, list(rec.sig_name), np.concatenate([d] * times), 1000.0, "mV")
