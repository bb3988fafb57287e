"""Stage `download`: fetch PTB-XL (PhysioNet, a mirror or a local folder) into data/raw, verified."""

from pathlib import Path

from ptbxl_multimodal.cli import run_stage
from ptbxl_multimodal.data.fetch import fetch_ptbxl
from ptbxl_multimodal.config import load_params

RAW_DIR = Path("data/raw")


def main() -> None:
    p = load_params()["download"]
    fetch_ptbxl(p["source"], RAW_DIR, p["sampling_rate"], p["workers"], p["retries"], p["timeout"])


if __name__ == "__main__":
    run_stage(main)
