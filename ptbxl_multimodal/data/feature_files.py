"""Compute the FFT and spectrogram tensors of every processed record, streaming in chunks."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ptbxl_multimodal.config.sections import FeatureSettings
from ptbxl_multimodal.errors import ParamError
from ptbxl_multimodal.io import h5store
from ptbxl_multimodal.io.atomic import atomic_path
from ptbxl_multimodal.io.pool import ChunkPool
from ptbxl_multimodal.signal.spectral import FFTSettings, SpectrogramSettings, fft_axis, fft_magnitude, spectrogram

log = logging.getLogger(__name__)


def _featurize_chunk(job: tuple[Path, int, int, int, FFTSettings, SpectrogramSettings, str]):
    """Worker: read rows [start, stop) of the signals and return their FFT and spectrogram blocks (stored dtype)."""
    path, start, stop, fs, fft_settings, spec_settings, dtype = job
    with h5store.reader(path) as h5:
        x = h5["signals"][start:stop]
    return fft_magnitude(x, fs, fft_settings).astype(dtype), spectrogram(x, fs, spec_settings)[2].astype(dtype)


def featurize(signals_path: Path, fft_path: Path, spec_path: Path, params: FeatureSettings) -> None:
    """Write fft.h5 (N, 12, F) and spectrogram.h5 (N, 12 or 36, F', T') with their axes and the ecg_id order."""
    fft_settings, spec_settings, chunk_size, compression = (
        params.fft,
        params.spectrogram,
        params.chunk_size,
        params.compression,
    )
    with h5store.reader(signals_path) as h5:
        n, leads, n_samples = h5["signals"].shape
        fs = float(h5.attrs["fs"])
        ecg_id = h5["ecg_id"][...]
        signal_attrs = {k: h5store.get_attr(h5, k) for k in h5.attrs}
    if spec_settings.nperseg > n_samples:
        raise ParamError(
            f"features.spectrogram.nperseg = {spec_settings.nperseg} is longer than the signal ({n_samples} samples, "
            f"{n_samples / fs:g} s at {fs:g} Hz); lower it (and noverlap) below {n_samples}"
        )
    freqs_fft = fft_axis(n_samples, fs, fft_settings)
    freqs_spec, times_spec, probe = spectrogram(np.zeros((1, leads, n_samples), np.float32), fs, spec_settings)
    jobs = [
        (str(signals_path), s, min(s + chunk_size, n), fs, fft_settings, spec_settings, params.dtype)
        for s in range(0, n, chunk_size)
    ]
    log.info(
        "features for %d records: FFT %d bins (0-%g Hz), spectrogram %d x %d",
        n,
        freqs_fft.size,
        freqs_fft[-1],
        freqs_spec.size,
        times_spec.size,
    )
    with (
        atomic_path(fft_path) as fft_tmp,
        atomic_path(spec_path) as spec_tmp,
        h5store.writer(fft_tmp) as fft_h5,
        h5store.writer(spec_tmp) as spec_h5,
    ):
        fft_ds = h5store.create_record_dataset(fft_h5, "fft", (leads, freqs_fft.size), params.dtype, compression)
        spec_ds = h5store.create_record_dataset(spec_h5, "spectrogram", probe.shape[1:], params.dtype, compression)
        with ChunkPool(params.workers, len(jobs)) as pool, tqdm(total=n, desc="features", unit="rec") as bar:
            for fft_block, spec_block in pool.imap(_featurize_chunk, jobs):
                h5store.append(fft_ds, fft_block)
                h5store.append(spec_ds, spec_block)
                bar.update(fft_block.shape[0])
        for h5, axes, settings in (
            (fft_h5, {"frequency_hz": freqs_fft}, fft_settings),
            (spec_h5, {"frequency_hz": freqs_spec, "time_s": times_spec}, spec_settings),
        ):
            h5store.write_small(h5, "ecg_id", ecg_id)
            for name, axis in axes.items():
                h5store.write_small(h5, name, axis.astype(np.float64))
            h5store.set_attrs(h5, {**signal_attrs, **settings.to_attrs()})
