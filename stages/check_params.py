"""Stage `check_params`: validate all of params.yaml on every change to it, before any other stage runs.

Each stage checks the sections it reads; this one checks the whole file, so a misspelt key that no stage
reads (`dvc exp run -S +train.comon.epochs=2`) fails in seconds instead of running nothing with exit 0.
Its output never changes, so `download` (which depends on it, to run after it) never reruns because of it.
"""

from ptbxl_multimodal.config.params import load_params
from ptbxl_multimodal.config.paths import ProjectPaths
from ptbxl_multimodal.io.atomic import write_text
from ptbxl_multimodal.stage import run_stage

TEXT = "params.yaml is valid (written by the check_params stage; tracked by git so a fresh clone has it)\n"


def main() -> None:
    load_params()
    write_text(ProjectPaths().params_checked, TEXT)


if __name__ == "__main__":
    run_stage(main)
