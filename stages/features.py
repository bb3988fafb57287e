"""Stage `features`: FFT spectra and STFT spectrograms of the processed signals (HDF5)."""

from ptbxl_multimodal.config.paths import ProjectPaths
from ptbxl_multimodal.config.reader import load_section, read_params
from ptbxl_multimodal.data.feature_files import FeatureSettings, featurize
from ptbxl_multimodal.stage import run_stage


def main() -> None:
    settings = load_section(read_params(), "features", FeatureSettings)
    paths = ProjectPaths()
    featurize(paths.signals, paths.fft, paths.spectrogram, settings)


if __name__ == "__main__":
    run_stage(main)
