"""Typed settings for tests, built from the committed params.yaml with explicit changes."""

from __future__ import annotations

from dataclasses import replace

from helpers.project import committed_params
from ptbxl_multimodal.config.params import Params, validate
from ptbxl_multimodal.config.sections import DownloadSettings, FeatureSettings, PreprocessSettings
from ptbxl_multimodal.signal.filters import Bandpass, Baseline, FilterSettings, Notch
from ptbxl_multimodal.signal.spectral import FFTSettings, SpectrogramSettings


def defaults() -> Params:
    """The committed params.yaml, typed."""
    return validate(committed_params())


def filters(
    fs: int,
    bandpass: tuple[float, float, int] | None = None,
    notch: tuple[float, float] | None = None,
    baseline: tuple[float, float] | None = None,
) -> FilterSettings:
    """A filter chain: band-pass (low, high, order), notch (freq, quality), baseline (window1, window2); None = off."""
    return FilterSettings(
        fs,
        Bandpass(bandpass is not None, *(bandpass or (0.5, 45.0, 3))),
        Notch(notch is not None, *(notch or (50.0, 30.0))),
        Baseline(baseline is not None, *(baseline or (0.2, 0.6))),
    )


def preprocess(filter_settings: FilterSettings | None = None, **changes) -> PreprocessSettings:
    """The committed `preprocess` section, with a filter chain and other keys replaced."""
    base = defaults().preprocess
    if filter_settings is not None:
        changes.update(
            fs=filter_settings.fs,
            bandpass=filter_settings.bandpass,
            notch=filter_settings.notch,
            baseline=filter_settings.baseline,
        )
    return replace(base, **changes)


def fft(**changes) -> FFTSettings:
    return replace(defaults().features.fft, **changes)


def spectrogram(**changes) -> SpectrogramSettings:
    return replace(defaults().features.spectrogram, **changes)


def features(
    fft_settings: FFTSettings | None = None, spec_settings: SpectrogramSettings | None = None, **changes
) -> FeatureSettings:
    base = defaults().features
    return replace(base, fft=fft_settings or base.fft, spectrogram=spec_settings or base.spectrogram, **changes)


def download(source: str, sampling_rate: int = 100, **changes) -> DownloadSettings:
    return replace(defaults().download, source=source, sampling_rate=sampling_rate, **changes)
