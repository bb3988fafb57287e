"""Stage `reference@<name>`: train one of the PTB-XL benchmark's models named in compare.references on the signal,
as a paired comparator of the fusion (python -m stages.reference <name>)."""

import argparse
import sys

from ptbxl_multimodal.config.params import load_params
from ptbxl_multimodal.config.paths import ProjectPaths
from ptbxl_multimodal.models.time.architectures import REFERENCES
from ptbxl_multimodal.stage import run_stage
from ptbxl_multimodal.training import distributed
from ptbxl_multimodal.training.train_branch import train_branch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("name", choices=sorted(REFERENCES))
    name = parser.parse_args().name
    params, paths = load_params(), ProjectPaths()
    reference = params.reference(name)
    code = distributed.relaunch(reference.training.nproc, "stages.reference", [name])
    if code is not None:  # this process only launched the data-parallel workers
        sys.exit(code)
    train_branch("time", reference, params.calibration.method, paths, paths.reference(name), name)
    distributed.finish()


if __name__ == "__main__":
    run_stage(main)
