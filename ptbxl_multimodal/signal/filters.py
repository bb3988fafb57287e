"""Signal conditioning with scipy.signal: polyphase resampling, zero-phase band-pass and notch, baseline removal.

Steps follow torch_ecg's preprocessors: resample, then band-pass (Butterworth, filtfilt), optional
power-line notch, optional baseline-wander removal by two cascaded median filters.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from scipy import ndimage, signal


@dataclass(frozen=True)
class FilterSettings:
    """The filter chain; stored with the data and the models so inference can repeat it exactly."""

    fs: int
    bandpass: tuple[float, float] | None = (0.5, 45.0)
    bandpass_order: int = 4
    notch: float | None = None
    notch_quality: float = 30.0
    baseline: tuple[float, float] | None = None  # median-filter windows in seconds

    @classmethod
    def from_params(cls, p: dict) -> FilterSettings:
        """Build from the `preprocess` section of params.yaml."""
        bp, notch, base = p["bandpass"], p["notch"], p["baseline"]
        return cls(
            fs=p["fs"],
            bandpass=(float(bp["low"]), float(bp["high"])) if bp["enabled"] else None,
            bandpass_order=bp["order"],
            notch=float(notch["freq"]) if notch["enabled"] else None,
            notch_quality=float(notch["quality"]),
            baseline=(float(base["window1"]), float(base["window2"])) if base["enabled"] else None,
        )

    def as_attrs(self) -> dict[str, object]:
        """Flat, HDF5-attribute-friendly description (None -> 'off')."""
        return {
            "fs": self.fs,
            "bandpass": list(self.bandpass) if self.bandpass else "off",
            "bandpass_order": self.bandpass_order,
            "notch": self.notch if self.notch else "off",
            "notch_quality": self.notch_quality,
            "baseline": list(self.baseline) if self.baseline else "off",
        }


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
        self.bandpass_sos = (
            signal.butter(settings.bandpass_order, settings.bandpass, btype="bandpass", fs=fs, output="sos")
            if settings.bandpass else None
        )
        self.notch_ba = signal.iirnotch(settings.notch, settings.notch_quality, fs=fs) if settings.notch else None
        self.baseline_sizes = (
            tuple(_odd(w * fs) for w in settings.baseline) if settings.baseline else None
        )

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
