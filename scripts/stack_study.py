"""How large a ridge penalty should the stacked fusion's weights get? Measure it on a finished run's validation.

    python scripts/stack_study.py [--project .] [--lambdas 0 0.001 0.01 0.03] [--bootstrap 1000]

For each lambda the combiner is fitted on the run's out-of-fold logits (as the fusion stage fits it) and scored on
the validation split's logits of the branches in the form the fusion deploys them (fusion.test_logits of the
run's checkpoint): validation BCE, macro AUC and the paired AUC difference from lambda 0. The test split is not
read. The chosen value lives in training/stacking.py (RIDGE).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ptbxl_multimodal import checkpoints, fusion_checkpoints
from ptbxl_multimodal.branches import input_files
from ptbxl_multimodal.data.loading import load_split
from ptbxl_multimodal.evaluation.metrics import bootstrap_indices, macro_auc, resampled_aucs
from ptbxl_multimodal.paths import ProjectPaths
from ptbxl_multimodal.runtime import module_logits
from ptbxl_multimodal.training import stacking
from ptbxl_multimodal.training.train_stack import out_of_fold


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--project", default=".", help="a project folder after a finished `dvc repro` (stack)")
    parser.add_argument("--lambdas", type=float, nargs="+", default=[0.0, 0.001, 0.01, 0.03])
    parser.add_argument("--bootstrap", type=int, default=1000)
    args = parser.parse_args()
    paths = ProjectPaths(Path(args.project))
    fusion = checkpoints.load(paths.model("fusion"))
    names = list(fusion["branches"])
    z, y, _ = out_of_fold(names, fusion["classes"], paths)
    val = load_split(input_files(paths, names), json.loads(paths.split.read_text())["val"], paths.records)
    deployed = fusion_checkpoints.deployed_branches(fusion["branches"], fusion.get("fold_branches"))
    z_val = np.stack(list(module_logits(deployed, val.inputs, 256).values()), axis=1)
    resamples = bootstrap_indices(val.y, args.bootstrap, 0)
    base = None
    print(f"validation split: {len(val.y)} records; branches as deployed: {fusion['head']['test_logits']}")
    for lam in args.lambdas:
        stacking.RIDGE = lam
        weights, intercept = stacking.fit_combiner(z, y)
        fused = stacking.combine(z_val, weights, intercept)
        boot = resampled_aucs(val.y, fused, resamples).mean(axis=1)
        base = boot if base is None else base
        low, high = np.percentile(boot - base, [2.5, 97.5])
        bce = float(stacking._bce(fused, val.y).mean())
        print(
            f"lambda {lam:g}: validation BCE {bce:.4f}, macro AUC {macro_auc(val.y, fused):.4f}, "
            f"minus lambda {args.lambdas[0]:g} [{low:+.4f}, {high:+.4f}], largest weight {weights.max():.2f}"
        )


if __name__ == "__main__":
    main()
