"""Stage `train@<branch>`: train one branch model on its own view of the ECG (python -m stages.train <branch>)."""

import argparse
import sys

from ptbxl_multimodal.branches import BRANCH_NAMES
from ptbxl_multimodal.cli import run_stage
from ptbxl_multimodal.paths import ProjectPaths
from ptbxl_multimodal.schema import read_params
from ptbxl_multimodal.training import distributed
from ptbxl_multimodal.training.train_branch import load_branch_params, train_branch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("branch", choices=BRANCH_NAMES)
    branch = parser.parse_args().branch
    params = load_branch_params(read_params(), branch)
    code = distributed.relaunch(params.training.nproc, "stages.train", [branch])
    if code is not None:  # this process only launched the data-parallel workers
        sys.exit(code)
    train_branch(branch, params, ProjectPaths())
    distributed.finish()


if __name__ == "__main__":
    run_stage(main)
