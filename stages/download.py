"""Stage `download`: fetch PTB-XL (PhysioNet, a mirror or a local folder) into data/raw, verified."""

from ptbxl_multimodal.config.paths import ProjectPaths
from ptbxl_multimodal.config.reader import load_section, read_params
from ptbxl_multimodal.data.fetch import DownloadSettings, fetch_ptbxl
from ptbxl_multimodal.stage import run_stage


def main() -> None:
    settings = load_section(read_params(), "download", DownloadSettings)
    fetch_ptbxl(settings, ProjectPaths().raw)


if __name__ == "__main__":
    run_stage(main)
