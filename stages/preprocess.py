"""Stage `preprocess`: WFDB records -> resampled, filtered signals plus labels and metadata (HDF5)."""

from ptbxl_multimodal.config.params import load_params
from ptbxl_multimodal.config.paths import ProjectPaths
from ptbxl_multimodal.data.processed_files import preprocess
from ptbxl_multimodal.stage import run_stage


def main() -> None:
    params = load_params()
    paths = ProjectPaths()
    preprocess(paths.raw, paths.processed, params.preprocess, params.download.sampling_rate)


if __name__ == "__main__":
    run_stage(main)
