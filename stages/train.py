"""Stage `train@<branch>`: train one branch model on its own view of the ECG (python -m stages.train <branch>)."""

import argparse
import sys

from ptbxl_multimodal.branches import BRANCH_NAMES
from ptbxl_multimodal.config.paths import ProjectPaths
from ptbxl_multimodal.config.reader import load_section, read_params
from ptbxl_multimodal.evaluation.calibration import CalibrationSettings
from ptbxl_multimodal.stage import run_stage
from ptbxl_multimodal.training import distributed
from ptbxl_multimodal.training.train_branch import load_branch_params, train_branch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("branch", choices=BRANCH_NAMES)
    branch = parser.parse_args().branch
    raw = read_params()
    params = load_branch_params(raw, branch)
    calibration = load_section(raw, "calibration", CalibrationSettings).method
    code = distributed.relaunch(params.training.nproc, "stages.train", [branch])
    if code is not None:  # this process only launched the data-parallel workers
        sys.exit(code)
    train_branch(branch, params, calibration, ProjectPaths())
    distributed.finish()


if __name__ == "__main__":
    run_stage(main)
