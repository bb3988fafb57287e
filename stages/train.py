"""Stage `train@<branch>`: train one branch model on its own view of the ECG (python -m stages.train <branch>)."""

import argparse
import sys

from ptbxl_multimodal.branches import BRANCH_NAMES
from ptbxl_multimodal.config.params import load_params
from ptbxl_multimodal.config.paths import ProjectPaths
from ptbxl_multimodal.stage import run_stage
from ptbxl_multimodal.training import distributed
from ptbxl_multimodal.training.train_branch import train_branch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("branch", choices=BRANCH_NAMES)
    branch = parser.parse_args().branch
    all_params = load_params()
    params, calibration = all_params.branches[branch], all_params.calibration.method
    code = distributed.relaunch(params.training.nproc, "stages.train", [branch])
    if code is not None:  # this process only launched the data-parallel workers
        sys.exit(code)
    train_branch(branch, params, calibration, ProjectPaths())
    distributed.finish()


if __name__ == "__main__":
    run_stage(main)
