"""Stage `features`: FFT spectra and STFT spectrograms of the processed signals (HDF5)."""

from ptbxl_multimodal.cli import run_stage
from ptbxl_multimodal.data.feature_files import FeatureSettings, featurize
from ptbxl_multimodal.params_file import load_section, read_params
from ptbxl_multimodal.paths import ProjectPaths


def main() -> None:
    settings = load_section(read_params(), "features", FeatureSettings)
    paths = ProjectPaths()
    featurize(paths.signals, paths.fft, paths.spectrogram, settings)


if __name__ == "__main__":
    run_stage(main)
