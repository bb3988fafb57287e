"""FFT and spectrogram axes and content."""

import numpy as np
import pytest

from stages.spectral import FFTSettings, SpectrogramSettings, fft_axis, fft_magnitude, spectrogram


def test_fft_axis_and_peak():
    fs, n = 100, 1000
    t = np.arange(n) / fs
    x = np.stack([np.sin(2 * np.pi * 7 * t), np.sin(2 * np.pi * 23 * t)])[None]  # (1, 2, n)
    settings = FFTSettings(log=False, max_freq=30.0)
    freqs = fft_axis(n, fs, settings)
    assert freqs[1] - freqs[0] == pytest.approx(fs / n)
    assert freqs[-1] <= 30.0 and freqs.size == 301
    mag = fft_magnitude(x, fs, settings)
    assert mag.shape == (1, 2, 301)
    assert freqs[mag[0, 0].argmax()] == pytest.approx(7.0)
    assert freqs[mag[0, 1].argmax()] == pytest.approx(23.0)
    assert mag[0, 0].max() == pytest.approx(0.5, abs=1e-3)  # |rfft|/n of a unit sine


def test_fft_log_scaling():
    x = np.ones((1, 1, 100))
    lin = fft_magnitude(x, 100, FFTSettings(log=False))
    log = fft_magnitude(x, 100, FFTSettings(log=True))
    assert np.allclose(log, np.log(lin + 1e-6), atol=1e-5)


def test_spectrogram_axes_and_peak():
    fs = 100
    t = np.arange(1000) / fs
    x = np.sin(2 * np.pi * 12.5 * t)[None, None]
    s = SpectrogramSettings(window="hann", nperseg=64, noverlap=48, log=True)
    freqs, times, power = spectrogram(x, fs, s)
    assert freqs.size == 33 and freqs[1] == pytest.approx(fs / 64)
    hop = (64 - 48) / fs
    assert times[0] == pytest.approx(32 / fs) and np.allclose(np.diff(times), hop)
    assert power.shape == (1, 1, 33, times.size) and power.dtype == np.float32
    assert freqs[power[0, 0].mean(axis=1).argmax()] == pytest.approx(12.5, abs=fs / 64)


def test_spectrogram_rejects_too_long_window():
    with pytest.raises(ValueError, match="nperseg = 2048 is longer than the signal"):
        spectrogram(np.zeros((1, 1000)), 100, SpectrogramSettings(nperseg=2048, noverlap=0))
