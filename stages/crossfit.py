"""Stage `crossfit@<branch>`: out-of-fold logits of one branch on the training split, for the stacked fusion."""

import argparse

from ptbxl_multimodal.branches import BRANCH_NAMES
from ptbxl_multimodal.config.params import load_params
from ptbxl_multimodal.config.paths import ProjectPaths
from ptbxl_multimodal.fusion.crossfit import crossfit_branch
from ptbxl_multimodal.stage import run_stage


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("branch", choices=BRANCH_NAMES)
    branch = parser.parse_args().branch
    params = load_params()
    crossfit_branch(branch, params.branches[branch], params.split, params.crossfit, ProjectPaths())


if __name__ == "__main__":
    run_stage(main)
