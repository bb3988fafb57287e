"""Stage `preprocess`: WFDB records -> resampled, filtered signals plus labels and metadata (HDF5)."""

from ptbxl_multimodal.config.paths import ProjectPaths
from ptbxl_multimodal.config.reader import load_section, read_params
from ptbxl_multimodal.data.fetch import DownloadSettings
from ptbxl_multimodal.data.processed_files import PreprocessSettings, preprocess
from ptbxl_multimodal.stage import run_stage


def main() -> None:
    raw = read_params()
    settings = load_section(raw, "preprocess", PreprocessSettings)
    source_fs = load_section(raw, "download", DownloadSettings).sampling_rate
    paths = ProjectPaths()
    preprocess(paths.raw, paths.processed, settings, source_fs)


if __name__ == "__main__":
    run_stage(main)
