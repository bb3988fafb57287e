"""Stage `crossfit@<branch>`: out-of-fold logits of one branch on the training split, for the stacked fusion."""

import argparse

from ptbxl_multimodal.branches import BRANCH_NAMES
from ptbxl_multimodal.config.paths import ProjectPaths
from ptbxl_multimodal.config.reader import load_section, read_params
from ptbxl_multimodal.data.splits import SplitSettings
from ptbxl_multimodal.fusion.crossfit import CrossfitSettings, crossfit_branch
from ptbxl_multimodal.stage import run_stage
from ptbxl_multimodal.training.train_branch import load_branch_params


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("branch", choices=BRANCH_NAMES)
    branch = parser.parse_args().branch
    raw = read_params()
    params, split = load_branch_params(raw, branch), load_section(raw, "split", SplitSettings)
    crossfit_branch(branch, params, split, load_section(raw, "crossfit", CrossfitSettings), ProjectPaths())


if __name__ == "__main__":
    run_stage(main)
