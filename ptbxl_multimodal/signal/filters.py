"""Signal conditioning with scipy.signal: polyphase resampling, zero-phase band-pass and notch, baseline removal.

Steps follow torch_ecg's preprocessors: resample, then band-pass (Butterworth, filtfilt), optional
power-line notch, optional baseline-wander removal by two cascaded median filters.
"""

from __future__ import annotations

from dataclasses import asdict
from fractions import Fraction
from typing import Annotated

import numpy as np
from pydantic import Field
from scipy import ndimage, signal

from ptbxl_multimodal.config.schema import Bool, Float, Int, settings


@settings
class Bandpass:
    """Zero-phase Butterworth band-pass (preprocess.bandpass)."""

    enabled: Bool
    low: Annotated[Float, Field(gt=0)]
    high: Annotated[Float, Field(gt=0)]
    order: Annotated[Int, Field(ge=1, le=10)]


@settings
class Notch:
    """Power-line notch (preprocess.notch)."""

    enabled: Bool
    freq: Annotated[Float, Field(gt=0)]
    quality: Annotated[Float, Field(gt=0)]


@settings
class Baseline:
    """Baseline-wander removal by two cascaded median filters, windows in seconds (preprocess.baseline)."""

    enabled: Bool
    window1: Annotated[Float, Field(gt=0)]
    window2: Annotated[Float, Field(gt=0)]


@settings
class FilterSettings:
    """The filter chain at sampling rate `fs`; stored with the data and the models so inference repeats it."""

    fs: Int
    bandpass: Bandpass
    notch: Notch
    baseline: Baseline

    def problems(self, path: str) -> list[str]:
        """Settings that cannot work at this sampling rate (each a message naming the params key)."""
        nyquist = self.fs / 2
        out = []
        bp = self.bandpass
        if bp.enabled and not bp.low < bp.high < nyquist:
            out.append(
                f"{path}.bandpass: need 0 < low < high < fs/2 = {nyquist:g} Hz (got low={bp.low}, "
                f"high={bp.high}); lower {path}.bandpass.high or raise {path}.fs"
            )
        if self.notch.enabled and not self.notch.freq < nyquist:
            out.append(f"{path}.notch.freq = {self.notch.freq}: must be below fs/2 = {nyquist:g} Hz")
        if self.baseline.enabled and not self.baseline.window1 < self.baseline.window2:
            out.append(f"{path}.baseline: window1 must be shorter than window2 (seconds)")
        return out

    def describe(self) -> str:
        """One line for reports."""
        bp, notch, base = self.bandpass, self.notch, self.baseline
        parts = [
            f"{self.fs} Hz",
            f"band-pass {bp.low:g}-{bp.high:g} Hz (order {bp.order})" if bp.enabled else "no band-pass",
            f"notch {notch.freq:g} Hz (Q {notch.quality:g})" if notch.enabled else "no notch",
            f"baseline removal ({base.window1:g} s, {base.window2:g} s)" if base.enabled else "no baseline removal",
        ]
        return ", ".join(parts)

    def to_attrs(self) -> dict[str, object]:
        """HDF5 attributes (read back by `from_attrs`)."""
        return {
            "fs": self.fs,
            "bandpass": asdict(self.bandpass),
            "notch": asdict(self.notch),
            "baseline": asdict(self.baseline),
        }

    @classmethod
    def from_attrs(cls, attrs: dict) -> FilterSettings:
        return cls(
            int(attrs["fs"]), Bandpass(**attrs["bandpass"]), Notch(**attrs["notch"]), Baseline(**attrs["baseline"])
        )


def resample(x: np.ndarray, fs_in: int, fs_out: int) -> np.ndarray:
    """Polyphase resampling along the last axis (anti-aliased), e.g. 500 -> 100 Hz or 100 -> 250 Hz."""
    if fs_in == fs_out:
        return x
    ratio = Fraction(fs_out, fs_in)
    return signal.resample_poly(x, ratio.numerator, ratio.denominator, axis=-1).astype(x.dtype, copy=False)


class FilterChain:
    """Designed once, applied to many records: filter coefficients depend only on the settings."""

    def __init__(self, settings: FilterSettings):
        self.settings = settings
        fs = settings.fs
        bp, notch, base = settings.bandpass, settings.notch, settings.baseline
        self.bandpass_sos = (
            signal.butter(bp.order, (bp.low, bp.high), btype="bandpass", fs=fs, output="sos") if bp.enabled else None
        )
        self.notch_ba = signal.iirnotch(notch.freq, notch.quality, fs=fs) if notch.enabled else None
        self.baseline_sizes = (_odd(base.window1 * fs), _odd(base.window2 * fs)) if base.enabled else None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Filter along the last axis; x is (..., T) at settings.fs."""
        dtype = x.dtype
        y = x.astype(np.float64, copy=False)
        if self.baseline_sizes:
            y = y - estimate_baseline(y, self.baseline_sizes)
        if self.bandpass_sos is not None:
            y = signal.sosfiltfilt(self.bandpass_sos, y, axis=-1)
        if self.notch_ba is not None:
            y = signal.filtfilt(*self.notch_ba, y, axis=-1)
        return np.ascontiguousarray(y, dtype=dtype)


def estimate_baseline(x: np.ndarray, sizes: tuple[int, int]) -> np.ndarray:
    """Baseline wander as two cascaded median filters (e.g. 0.2 s then 0.6 s) along the last axis."""
    first = ndimage.median_filter(x, size=(1,) * (x.ndim - 1) + (sizes[0],), mode="nearest")
    return ndimage.median_filter(first, size=(1,) * (x.ndim - 1) + (sizes[1],), mode="nearest")


def _odd(n: float) -> int:
    n = max(1, int(round(n)))
    return n if n % 2 else n + 1
