"""Rebuild every branch's input for new records from a checkpoint's input specification (not params.yaml).

The preprocess and features stages record their settings as HDF5 attributes; training copies them
into each checkpoint. Applying them here repeats exactly what the model was trained on.
"""

from __future__ import annotations

import numpy as np

from ptbxl_multimodal.signal.filters import FilterChain, FilterSettings, resample
from ptbxl_multimodal.signal.spectral import FFTSettings, SpectrogramSettings, fft_magnitude, spectrogram


def _off_or(value, convert):
    return None if value == "off" else convert(value)


def filter_settings(spec: dict) -> FilterSettings:
    """The filter chain a checkpoint's input went through."""
    return FilterSettings(
        fs=int(spec["fs"]),
        bandpass=_off_or(spec["bandpass"], lambda v: (float(v[0]), float(v[1]))),
        bandpass_order=int(spec["bandpass_order"]),
        notch=_off_or(spec["notch"], float),
        notch_quality=float(spec["notch_quality"]),
        baseline=_off_or(spec["baseline"], lambda v: (float(v[0]), float(v[1]))),
    )


def fft_settings(spec: dict) -> FFTSettings:
    return FFTSettings(log=bool(spec["fft_log"]), max_freq=float(spec["fft_max_freq"]))


def spectrogram_settings(spec: dict) -> SpectrogramSettings:
    return SpectrogramSettings(window=str(spec["spectrogram_window"]), nperseg=int(spec["spectrogram_nperseg"]),
                               noverlap=int(spec["spectrogram_noverlap"]), log=bool(spec["spectrogram_log"]),
                               phase=bool(spec.get("spectrogram_phase", False)))  # absent before the option


def signal_inputs(raw: np.ndarray, raw_fs: int, specs: dict[str, dict]) -> dict[str, np.ndarray]:
    """Signal-derived inputs (time / freq / spec) of a batch of raw records (n, 12, T_raw) at raw_fs.

    `specs` maps each wanted branch to its checkpoint's input_spec. Records are resampled to the
    model's rate, cut to the model's duration, then filtered and transformed as at training time.
    """
    out: dict[str, np.ndarray] = {}
    cache: dict[FilterSettings, np.ndarray] = {}
    for branch, spec in specs.items():
        if branch == "meta":
            continue
        settings = filter_settings(spec)
        if settings not in cache:
            n = int(round(float(spec["duration_s"]) * settings.fs))
            cache[settings] = FilterChain(settings)(resample(raw, raw_fs, settings.fs)[..., :n])
        x = cache[settings]
        if branch == "time":
            out[branch] = x
        elif branch == "freq":
            out[branch] = fft_magnitude(x, settings.fs, fft_settings(spec))
        elif branch == "spec":
            out[branch] = spectrogram(x, settings.fs, spectrogram_settings(spec))[2]
        expected = tuple(spec["shape"])
        if out[branch].shape[1:] != expected:
            raise ValueError(f"{branch} input has shape {out[branch].shape[1:]}, the model expects {expected}")
    return out
