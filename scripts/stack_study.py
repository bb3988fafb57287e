"""How should the stacked fusion be fitted and deployed? Measure it on a finished run's validation split.

    python scripts/stack_study.py ridge [--project .] [--lambdas 0 0.001 0.01 0.03] [--bootstrap 1000]
    python scripts/stack_study.py spread [--project .] [--bootstrap 1000]

ridge: for each lambda the combiner is fitted on the run's out-of-fold logits (as the fusion stage fits it) and
scored on the validation split's logits of the branches in the form the fusion deploys them (fusion.test_logits of
the run's checkpoint): validation BCE, macro AUC and the paired AUC difference from lambda 0. The chosen value lives
in training/stacking.py (RIDGE).

spread: the combiner fitted on out-of-fold logits (single fold models), applied on validation to the plain mean of
each branch's fold models (the form deployed before the spread matching), to that mean spread back to one fold
model's spread (training.stacking.match_spread, deployed now), and to the train@ models (`test_logits: full`):
validation BCE and macro AUC of each, and each minus the plain mean, paired (same records, same resamples).

Neither reads the test split.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ptbxl_multimodal import checkpoints, fusion_checkpoints
from ptbxl_multimodal.branches import input_files
from ptbxl_multimodal.data.loading import SplitData, load_split
from ptbxl_multimodal.evaluation.metrics import bootstrap_indices, macro_auc, percentile_interval, resampled_aucs
from ptbxl_multimodal.paths import ProjectPaths
from ptbxl_multimodal.runtime import module_logits
from ptbxl_multimodal.training import stacking
from ptbxl_multimodal.training.train_stack import fold_logits, out_of_fold


def _validation(paths: ProjectPaths, names: list[str]) -> SplitData:
    return load_split(input_files(paths, names), json.loads(paths.split.read_text())["val"], paths.records)


def _stacked(z: dict[str, np.ndarray], weights: np.ndarray, intercept: np.ndarray) -> np.ndarray:
    return stacking.combine(np.stack(list(z.values()), axis=1), weights, intercept)


def ridge(paths: ProjectPaths, lambdas: list[float], n_boot: int) -> None:
    """Validation BCE and macro AUC of the combiner at each ridge penalty."""
    fusion = checkpoints.load(paths.model("fusion"))
    names = list(fusion["branches"])
    z, y, _ = out_of_fold(names, fusion["classes"], paths)
    val = _validation(paths, names)
    deployed = fusion_checkpoints.deployed_branches(fusion["branches"], fusion.get("fold_branches"))
    z_val = module_logits(deployed, val.inputs, 256)
    resamples = bootstrap_indices(val.y, n_boot, 0)
    base = None
    print(f"validation split: {len(val.y)} records; branches as deployed: {fusion['head']['test_logits']}")
    for lam in lambdas:
        stacking.RIDGE = lam
        weights, intercept = stacking.fit_combiner(z, y)
        fused = _stacked(z_val, weights, intercept)
        boot = resampled_aucs(val.y, fused, resamples).mean(axis=1)
        base = boot if base is None else base
        low, high = np.percentile(boot - base, [2.5, 97.5])
        bce = float(stacking.bce(fused, val.y).mean())
        print(
            f"lambda {lam:g}: validation BCE {bce:.4f}, macro AUC {macro_auc(val.y, fused):.4f}, "
            f"minus lambda {lambdas[0]:g} [{low:+.4f}, {high:+.4f}], largest weight {weights.max():.2f}"
        )


def spread(paths: ProjectPaths, folds: int, n_boot: int) -> None:
    """Validation BCE and macro AUC of the stack on the plain bagged mean, the spread-matched mean and the train@
    models, each minus the plain mean, paired."""
    fusion = checkpoints.load(paths.model("fusion"))
    names = list(fusion["branches"])
    z, y, _ = out_of_fold(names, fusion["classes"], paths)
    weights, intercept = stacking.fit_combiner(z, y)
    val = _validation(paths, names)
    folds_ckpts = {n: [checkpoints.load(paths.fold_models(n) / f"fold{g}.pt") for g in range(folds)] for n in names}
    per_fold = fold_logits(folds_ckpts, val.inputs)
    plain = {n: f.mean(axis=0) for n, f in per_fold.items()}
    matched = {}
    for n, f in per_fold.items():
        center, scale = stacking.match_spread(f)
        matched[n] = center + scale * (plain[n] - center)
        print(f"{n}: scale per class {np.array2string(scale, precision=2)}")
    full = module_logits(fusion_checkpoints.deployed_branches(fusion["branches"], None), val.inputs, 256)
    forms = {"bagged, plain mean": plain, "bagged, spread matched": matched, "full (train@ models)": full}
    fused = {form: _stacked(zs, weights, intercept) for form, zs in forms.items()}
    resamples = bootstrap_indices(val.y, n_boot, 0)
    bce = {form: stacking.bce(f, val.y).mean(axis=1) for form, f in fused.items()}  # per record
    auc = {form: resampled_aucs(val.y, f, resamples).mean(axis=1) for form, f in fused.items()}
    base = "bagged, plain mean"
    print(f"validation split: {len(val.y)} records; stack weights fitted on out-of-fold logits ({folds} groups)")
    for form, f in fused.items():
        line = f"{form}: validation BCE {bce[form].mean():.4f}, macro AUC {macro_auc(val.y, f):.4f}"
        if form != base:
            d_bce = bce[form] - bce[base]
            b_low, b_high = percentile_interval(d_bce[resamples].mean(axis=1))
            a_low, a_high = percentile_interval(auc[form] - auc[base])
            line += (
                f"; minus plain mean: BCE {d_bce.mean():+.4f} [{b_low:+.4f}, {b_high:+.4f}], "
                f"AUC {macro_auc(val.y, f) - macro_auc(val.y, fused[base]):+.4f} [{a_low:+.4f}, {a_high:+.4f}]"
            )
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="study", required=True)
    r = sub.add_parser("ridge", help="the ridge penalty on the stack's weights")
    r.add_argument("--lambdas", type=float, nargs="+", default=[0.0, 0.001, 0.01, 0.03])
    s = sub.add_parser("spread", help="the bagged test-time form: plain mean or spread matched")
    s.add_argument("--folds", type=int, default=4, help="the run's crossfit.folds")
    for p in (r, s):
        p.add_argument("--project", default=".", help="a project folder after a finished `dvc repro` (stack)")
        p.add_argument("--bootstrap", type=int, default=1000)
    args = parser.parse_args()
    paths = ProjectPaths(Path(args.project))
    if args.study == "ridge":
        ridge(paths, args.lambdas, args.bootstrap)
    else:
        spread(paths, args.folds, args.bootstrap)


if __name__ == "__main__":
    main()
