"""Stage `fusion`: combine the branches: the stacked fusion on cross-fitted logits, or an embedding head."""

import sys

from ptbxl_multimodal.config.params import load_params
from ptbxl_multimodal.config.paths import ProjectPaths
from ptbxl_multimodal.fusion.train_fusion import train_fusion
from ptbxl_multimodal.fusion.train_stack import train_stack
from ptbxl_multimodal.stage import run_stage
from ptbxl_multimodal.training import distributed


def main() -> None:
    all_params = load_params()
    params, calibration = all_params.fusion, all_params.calibration.method
    if params.settings.method == "stack":  # fitted by scipy in one process, no gradient training
        train_stack(params, all_params.crossfit.folds, calibration, ProjectPaths())
        return
    code = distributed.relaunch(params.training.nproc, "stages.fusion", [])
    if code is not None:  # this process only launched the data-parallel workers
        sys.exit(code)
    train_fusion(params, calibration, ProjectPaths())
    distributed.finish()


if __name__ == "__main__":
    run_stage(main)
