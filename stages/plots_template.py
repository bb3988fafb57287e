"""Stage `plots_template`: the page `dvc plots show` fills, with the plotting libraries inlined (works offline)."""

from ptbxl_multimodal.cli import run_stage
from ptbxl_multimodal.evaluation.offline_plots import write_offline_template
from ptbxl_multimodal.paths import ProjectPaths


def main() -> None:
    write_offline_template(ProjectPaths().plots_template)


if __name__ == "__main__":
    run_stage(main)
