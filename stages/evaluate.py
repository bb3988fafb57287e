"""Stage `evaluate`: score every branch and the fusion model on the test split; write metrics, plots, report."""

from ptbxl_multimodal.config.params import load_params
from ptbxl_multimodal.config.paths import ProjectPaths
from ptbxl_multimodal.evaluation.evaluate import evaluate
from ptbxl_multimodal.stage import run_stage


def main() -> None:
    params = load_params()
    evaluate(params.evaluate, ProjectPaths(), params.compare.references)


if __name__ == "__main__":
    run_stage(main)
