"""Stage `plots_template`: the page `dvc plots show` fills, with the plotting libraries inlined (works offline)."""

from ptbxl_multimodal.config.paths import ProjectPaths
from ptbxl_multimodal.report.offline_plots import write_offline_template
from ptbxl_multimodal.stage import run_stage


def main() -> None:
    write_offline_template(ProjectPaths().plots_template)


if __name__ == "__main__":
    run_stage(main)
