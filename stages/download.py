"""Stage `download`: fetch PTB-XL (PhysioNet, a mirror or a local folder) into data/raw, verified."""

from ptbxl_multimodal.config.params import load_params
from ptbxl_multimodal.config.paths import ProjectPaths
from ptbxl_multimodal.data.fetch import fetch_ptbxl
from ptbxl_multimodal.stage import run_stage


def main() -> None:
    fetch_ptbxl(load_params().download, ProjectPaths().raw)


if __name__ == "__main__":
    run_stage(main)
