"""Stage `evaluate`: score every branch and the fusion model on the test split; write metrics, plots, report."""

from ptbxl_multimodal.cli import run_stage
from ptbxl_multimodal.evaluation.evaluate import evaluate
from ptbxl_multimodal.evaluation.settings import EvaluateSettings
from ptbxl_multimodal.params_file import load_section, read_params
from ptbxl_multimodal.paths import ProjectPaths


def main() -> None:
    evaluate(load_section(read_params(), "evaluate", EvaluateSettings), ProjectPaths())


if __name__ == "__main__":
    run_stage(main)
