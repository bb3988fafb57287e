"""Resampling and filters against signals with known content."""

import numpy as np
import pytest

from helpers.settings import filters
from ptbxl_multimodal.signal.filters import Bandpass, Baseline, FilterChain, FilterSettings, Notch, resample


def sine(freq: float, fs: int, seconds: float = 10.0) -> np.ndarray:
    t = np.arange(int(fs * seconds)) / fs
    return np.sin(2 * np.pi * freq * t)[None, :]


def amplitude(x: np.ndarray, fs: int) -> np.ndarray:
    """Peak amplitude over the middle half (zero-phase filtering has slow edge transients)."""
    n = x.shape[-1]
    return np.abs(x[..., n // 4 : 3 * n // 4]).max(axis=-1)


def test_bandpass_passes_in_band_and_attenuates_outside():
    fs = 500
    chain = FilterChain(filters(fs, bandpass=(0.5, 40.0, 4)))
    assert amplitude(chain(sine(10, fs)), fs)[0] == pytest.approx(1.0, abs=0.02)
    assert amplitude(chain(sine(100, fs, 30)), fs)[0] < 0.01  # 4th-order, > 1 octave above the corner
    assert amplitude(chain(sine(0.05, fs, 40)), fs)[0] < 0.1  # baseline-like drift, 10x down


def test_filter_is_zero_phase():
    fs = 500
    x = sine(5, fs)
    y = FilterChain(filters(fs, bandpass=(0.5, 40.0, 4)))(x)
    lag = np.argmax(np.correlate(y[0, fs:-fs], x[0, fs:-fs], mode="full")) - (x.shape[1] - 2 * fs - 1)
    assert lag == 0


def test_notch_removes_power_line():
    fs = 500
    chain = FilterChain(filters(fs, notch=(50.0, 30.0)))
    assert amplitude(chain(sine(50, fs)), fs)[0] < 0.05
    assert amplitude(chain(sine(10, fs)), fs)[0] == pytest.approx(1.0, abs=0.02)


def test_baseline_removal_takes_out_slow_drift():
    fs = 100
    drift = 2.0 * sine(0.1, fs, 20)
    spikes = np.zeros_like(drift)
    spikes[0, ::fs] = 1.0  # one narrow "beat" per second
    chain = FilterChain(filters(fs, baseline=(0.2, 0.6)))
    cleaned = chain(drift + spikes)
    assert np.abs(cleaned - spikes)[0, fs:-fs].max() < 0.1


@pytest.mark.parametrize("fs_in,fs_out", [(500, 100), (100, 250), (100, 100)])
def test_resample_keeps_duration_and_content(fs_in, fs_out):
    y = resample(sine(5, fs_in).astype(np.float32), fs_in, fs_out)
    assert y.shape == (1, 10 * fs_out) and y.dtype == np.float32
    expected = sine(5, fs_out)
    assert np.abs(y - expected)[0, fs_out:-fs_out].max() < 0.02


def test_resample_is_anti_aliased():
    # 80 Hz cannot exist at 100 Hz; polyphase filtering must remove it, not fold it to 20 Hz.
    y = resample(sine(80, 500), 500, 100)
    assert np.abs(y[0, 100:-100]).max() < 0.02


def test_settings_round_trip_through_attributes():
    s = FilterSettings(100, Bandpass(True, 0.5, 45.0, 3), Notch(False, 50.0, 30.0), Baseline(True, 0.2, 0.6))
    assert FilterSettings.from_attrs(s.to_attrs()) == s
    assert "no notch" in s.describe() and "band-pass 0.5-45 Hz (order 3)" in s.describe()
