"""Stage `split`: record ids per split (train / val / test) and class counts per split."""

from ptbxl_multimodal.config.params import load_params
from ptbxl_multimodal.config.paths import ProjectPaths
from ptbxl_multimodal.data.splits import make_split
from ptbxl_multimodal.io.atomic import write_json
from ptbxl_multimodal.stage import run_stage


def main() -> None:
    paths = ProjectPaths()
    split, summary = make_split(paths.records, load_params().split)
    write_json(paths.split, split)
    write_json(paths.split_summary, summary)


if __name__ == "__main__":
    run_stage(main)
