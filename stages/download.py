"""Stage `download`: fetch PTB-XL (PhysioNet, a mirror or a local folder) into data/raw, verified."""

from ptbxl_multimodal.cli import run_stage
from ptbxl_multimodal.data.fetch import DownloadSettings, fetch_ptbxl
from ptbxl_multimodal.params_file import load_section, read_params
from ptbxl_multimodal.paths import ProjectPaths


def main() -> None:
    settings = load_section(read_params(), "download", DownloadSettings)
    fetch_ptbxl(settings, ProjectPaths().raw)


if __name__ == "__main__":
    run_stage(main)
