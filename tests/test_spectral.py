"""FFT and spectrogram axes and content."""

import numpy as np
import pytest

from ptbxl_multimodal.signal.spectral import FFTSettings, SpectrogramSettings, fft_axis, fft_magnitude, spectrogram


def stft(nperseg=64, noverlap=48, phase=False, window="hann", log=True) -> SpectrogramSettings:
    return SpectrogramSettings(window=window, nperseg=nperseg, noverlap=noverlap, log=log, phase=phase)


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
    lin = fft_magnitude(x, 100, FFTSettings(log=False, max_freq=50.0))
    log = fft_magnitude(x, 100, FFTSettings(log=True, max_freq=50.0))
    assert np.allclose(log, np.log(lin + 1e-6), atol=1e-5)


def test_spectrogram_axes_and_peak():
    fs = 100
    t = np.arange(1000) / fs
    x = np.sin(2 * np.pi * 12.5 * t)[None, None]
    s = stft(window="hann", nperseg=64, noverlap=48, log=True)
    freqs, times, power = spectrogram(x, fs, s)
    assert freqs.size == 33 and freqs[1] == pytest.approx(fs / 64)
    hop = (64 - 48) / fs
    assert times[0] == pytest.approx(32 / fs) and np.allclose(np.diff(times), hop)
    assert power.shape == (1, 1, 33, times.size) and power.dtype == np.float32
    assert freqs[power[0, 0].mean(axis=1).argmax()] == pytest.approx(12.5, abs=fs / 64)


def test_spectrogram_rejects_too_long_window():
    with pytest.raises(ValueError, match="nperseg = 2048 is longer than the signal"):
        spectrogram(np.zeros((1, 1000)), 100, stft(nperseg=2048, noverlap=0))


def test_spectrogram_phase_channels_follow_polarity():
    """Power cannot tell an ECG from its inverse; the phase channels can (they flip sign)."""
    rng = np.random.default_rng(0)
    t = np.arange(1000) / 100
    x = (np.sin(2 * np.pi * 3 * t) + 0.3 * rng.standard_normal(1000)).reshape(1, 1, 1000).repeat(2, axis=1)
    s = stft(nperseg=64, noverlap=48, phase=True)
    _, _, pos = spectrogram(x, 100, s)
    _, _, neg = spectrogram(-x, 100, s)
    plain = spectrogram(x, 100, stft(nperseg=64, noverlap=48))[2]
    assert pos.shape == (1, 6, 33, plain.shape[-1])  # 2 leads x (power, cos, sin)
    assert np.array_equal(pos[:, :2], plain) and np.array_equal(neg[:, :2], plain)
    cos, sin = pos[:, 2:4], pos[:, 4:6]
    live = pos[:, :2] > -100  # bins above the numerical floor
    assert np.allclose((cos**2 + sin**2)[live], 1, atol=1e-5)
    assert np.allclose(neg[:, 2:], -pos[:, 2:], atol=1e-5) and np.abs(pos[:, 2:]).max() > 0.5
    silent = spectrogram(np.zeros((1, 1, 1000)), 100, s)[2]
    assert np.all(silent[:, 1:] == 0)  # no phase where there is no power


def test_settings_round_trip_through_attributes():
    for settings in (FFTSettings(log=True, max_freq=40.0), stft(phase=True)):
        assert type(settings).from_attrs(settings.to_attrs()) == settings
