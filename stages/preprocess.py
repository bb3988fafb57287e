"""Stage `preprocess`: WFDB records -> resampled, filtered signals plus labels and metadata (HDF5)."""

from pathlib import Path

from .cli import run_stage
from .filters import FilterSettings
from .params import load_params
from .preprocessing import preprocess

RAW_DIR = Path("data/raw")
OUT_DIR = Path("data/processed")


def main() -> None:
    params = load_params()
    p = params["preprocess"]
    preprocess(RAW_DIR, OUT_DIR, FilterSettings.from_params(p), params["download"]["sampling_rate"], p["task"],
               p["min_class_count"], p["skip_bad_records"], p["workers"], p["chunk_size"], p["compression"])


if __name__ == "__main__":
    run_stage(main)
