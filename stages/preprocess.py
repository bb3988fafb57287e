"""Stage `preprocess`: WFDB records -> resampled, filtered signals plus labels and metadata (HDF5)."""

from pathlib import Path

from ptbxl_multimodal.cli import run_stage
from ptbxl_multimodal.signal.filters import FilterSettings
from ptbxl_multimodal.config import load_params
from ptbxl_multimodal.data.processed_files import preprocess

RAW_DIR = Path("data/raw")
OUT_DIR = Path("data/processed")


def main() -> None:
    params = load_params()
    p = params["preprocess"]
    preprocess(RAW_DIR, OUT_DIR, FilterSettings.from_params(p), params["download"]["sampling_rate"], p["task"],
               p["min_class_count"], p["skip_bad_records"], p["workers"], p["chunk_size"], p["compression"])


if __name__ == "__main__":
    run_stage(main)
