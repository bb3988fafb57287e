"""Tiny WFDB records written with wfdb.wrsamp, and an ECG-like test signal."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import wfdb

LEADS = ["I", "II", "III", "AVR", "AVL", "AVF", "V1", "V2", "V3", "V4", "V5", "V6"]


def write_record(folder: Path, name: str, signal: np.ndarray, fs: int, leads: list[str] | None = None) -> Path:
    """Write a WFDB record (format 16, mV) with wfdb.wrsamp; signal is (T, n_leads)."""
    folder.mkdir(parents=True, exist_ok=True)
    leads = leads or LEADS[: signal.shape[1]]
    wfdb.wrsamp(
        name,
        fs=fs,
        units=["mV"] * signal.shape[1],
        sig_name=leads,
        p_signal=signal,
        fmt=["16"] * signal.shape[1],
        adc_gain=[1000.0] * signal.shape[1],
        baseline=[0] * signal.shape[1],
        write_dir=str(folder),
    )
    return folder / name


def ecg_like(fs: int = 100, seconds: float = 10.0) -> np.ndarray:
    """A (T, 12) test signal: a few sines per lead plus a little noise, deterministic."""
    t = np.arange(int(fs * seconds)) / fs
    rng = np.random.default_rng(0)
    return np.stack(
        [0.5 * np.sin(2 * np.pi * (1 + i) * t) + 0.05 * rng.standard_normal(t.size) for i in range(12)], axis=1
    )
