"""Stage `features`: FFT spectra and STFT spectrograms of the processed signals (HDF5)."""

from ptbxl_multimodal.config.params import load_params
from ptbxl_multimodal.config.paths import ProjectPaths
from ptbxl_multimodal.data.feature_files import featurize
from ptbxl_multimodal.stage import run_stage


def main() -> None:
    paths = ProjectPaths()
    featurize(paths.signals, paths.fft, paths.spectrogram, load_params().features)


if __name__ == "__main__":
    run_stage(main)
