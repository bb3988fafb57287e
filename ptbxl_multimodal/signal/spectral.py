"""Frequency-domain views of the preprocessed signals: FFT magnitude spectra and STFT spectrograms."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Literal

import numpy as np
from pydantic import Field
from scipy import signal

from ptbxl_multimodal.config.schema import Bool, Float, Int, settings

FFT_EPS = 1e-6  # added before the log so silent bins stay finite
POWER_EPS = 1e-12


@settings
class FFTSettings:
    """Magnitude spectrum per lead, cut at max_freq, optionally natural-log scaled."""

    log: Bool
    max_freq: Annotated[Float, Field(gt=0)]

    def describe(self) -> str:
        return f"FFT magnitude up to {self.max_freq:g} Hz{', log' if self.log else ''}"

    def to_attrs(self) -> dict:
        """HDF5 attributes (read back by `from_attrs`)."""
        return {"fft": asdict(self)}

    @classmethod
    def from_attrs(cls, attrs: dict) -> FFTSettings:
        return cls(**attrs["fft"])


@settings
class SpectrogramSettings:
    """STFT per lead (scipy.signal.spectrogram, PSD), optionally in dB, optionally with phase channels.

    Power is blind to the sign of the signal; `phase` adds the cosine and sine of each bin's STFT
    phase, which flip with the polarity of Q waves and ST deviations.
    """

    window: Literal["hann", "hamming", "blackman", "boxcar"]
    nperseg: Annotated[Int, Field(ge=4)]
    noverlap: Annotated[Int, Field(ge=0)]
    log: Bool
    phase: Bool

    def problems(self, path: str) -> list[str]:
        """Settings that contradict each other (each a message naming the params key)."""
        if self.noverlap >= self.nperseg:
            return [f"{path}.noverlap = {self.noverlap}: must be smaller than nperseg = {self.nperseg}"]
        return []

    def describe(self) -> str:
        return (
            f"spectrogram, {self.window} window of {self.nperseg} samples, overlap {self.noverlap}"
            f"{', dB' if self.log else ''}{', with phase' if self.phase else ''}"
        )

    def to_attrs(self) -> dict:
        """HDF5 attributes (read back by `from_attrs`)."""
        return {"spectrogram": asdict(self)}

    @classmethod
    def from_attrs(cls, attrs: dict) -> SpectrogramSettings:
        return cls(**attrs["spectrogram"])


def fft_axis(n_samples: int, fs: float, settings: FFTSettings) -> np.ndarray:
    """Frequencies in Hz of the kept bins (0 .. max_freq)."""
    freqs = np.fft.rfftfreq(n_samples, d=1.0 / fs)
    return freqs[freqs <= settings.max_freq]


def fft_magnitude(x: np.ndarray, fs: float, settings: FFTSettings) -> np.ndarray:
    """|rFFT| / n along the last axis, bins above max_freq dropped; x is (..., T) -> (..., F)."""
    n = x.shape[-1]
    keep = fft_axis(n, fs, settings).size
    mag = np.abs(np.fft.rfft(x, axis=-1))[..., :keep] / n
    if settings.log:
        mag = np.log(mag + FFT_EPS)
    return mag.astype(np.float32)


def spectrogram(x: np.ndarray, fs: float, settings: SpectrogramSettings) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frequencies (Hz), frame centre times (s) and the (..., L, F, T') spectrogram of x (..., L, T).

    Without phase, the L channels are the leads' power. With phase, 3L channels: power, then the
    cosine, then the sine of the phase (0 in bins whose power is at the numerical floor, where the
    phase is rounding noise).
    """
    if settings.nperseg > x.shape[-1]:
        raise ValueError(
            f"features.spectrogram.nperseg = {settings.nperseg} is longer than the signal "
            f"({x.shape[-1]} samples); lower it"
        )
    stft = {"fs": fs, "window": settings.window, "nperseg": settings.nperseg, "noverlap": settings.noverlap, "axis": -1}
    freqs, times, power = signal.spectrogram(x, scaling="density", mode="psd", **stft)
    out = 10.0 * np.log10(power + POWER_EPS) if settings.log else power
    if settings.phase:
        if x.ndim < 2:
            raise ValueError("phase channels need a lead axis: pass x as (..., leads, samples)")
        z = signal.spectrogram(x, mode="complex", **stft)[2]
        unit = np.where(power > POWER_EPS, z / np.maximum(np.abs(z), np.finfo(z.real.dtype).tiny), 0)
        out = np.concatenate([out, unit.real, unit.imag], axis=-3)
    return freqs, times, out.astype(np.float32)
