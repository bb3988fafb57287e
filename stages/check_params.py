"""Stage `check_params`: validate all of params.yaml on every change to it, before any other stage runs.

Each stage checks the sections it reads; this one checks the whole file, so a misspelt key that no stage
reads (`dvc exp run -S +train.comon.epochs=2`) fails in seconds instead of running nothing with exit 0.
It writes nothing: dvc.yaml lists it first, so DVC runs it before the other stages.
"""

from ptbxl_multimodal.cli import run_stage
from ptbxl_multimodal.config import load_params


def main() -> None:
    load_params()


if __name__ == "__main__":
    run_stage(main)
