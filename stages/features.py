"""Stage `features`: FFT spectra and STFT spectrograms of the processed signals (HDF5)."""

from pathlib import Path

from ptbxl_multimodal.cli import run_stage
from ptbxl_multimodal.data.feature_files import featurize
from ptbxl_multimodal.config import load_params
from ptbxl_multimodal.signal.spectral import FFTSettings, SpectrogramSettings

SIGNALS = Path("data/processed/signals.h5")
OUT_DIR = Path("data/features")


def main() -> None:
    p = load_params()["features"]
    featurize(SIGNALS, OUT_DIR / "fft.h5", OUT_DIR / "spectrogram.h5", FFTSettings(**p["fft"]),
              SpectrogramSettings(**p["spectrogram"]), p["workers"], p["chunk_size"], p["compression"])


if __name__ == "__main__":
    run_stage(main)
