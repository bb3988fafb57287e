"""What do the levers that cut a run's cost do to the stacked fusion? Measured on validation, paired, over runs.

    python scripts/cost_levers.py RUN [RUN ...] [--bootstrap 1000]

Each RUN is a folder holding finished projects of one split (data/, models/ and params.yaml after `dvc repro`):
`base/`, the default run, and one folder per variant of it, named for the lever (e.g. `k4/` after
`dvc exp run -S crossfit.folds=4`, which reuses the train@ models and reruns cross-fitting and fusion). For each
project the stack's weights are scored in both test-time forms: `full` (the train@ models, deployed by default)
and `bagged` (the mean of each branch's fold models), each aligned to the fold models' logits on validation. One
more lever needs no run: `blend`, the combiner fitted on the validation split's logits of the base run's train@
models instead of on cross-fitted logits (no cross-fitting at all), scored by 5-fold cross-validation within the
validation split (patients kept in one part).

Printed: per run, each form's validation macro AUC and BCE minus the base run's deployed form (same records,
same bootstrap resamples); then, over the runs, the mean difference with the corrected resampled t interval
(validation over training records, as for rotations). Reads no test split.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np

from cv_summary import mean_interval
from ptbxl_multimodal import checkpoints
from ptbxl_multimodal.branches import input_files
from ptbxl_multimodal.config.params import load_params
from ptbxl_multimodal.config.paths import ProjectPaths
from ptbxl_multimodal.data.loading import SplitData, load_split
from ptbxl_multimodal.evaluation.metrics import bootstrap_indices, macro_auc, percentile_interval, resampled_aucs
from ptbxl_multimodal.fusion import checkpoints as fusion_checkpoints
from ptbxl_multimodal.fusion import stacking
from ptbxl_multimodal.fusion.crossfit import crossfit_groups
from ptbxl_multimodal.fusion.train_stack import alignment, fold_logits, out_of_fold
from ptbxl_multimodal.io import h5store
from ptbxl_multimodal.models.runtime import INFERENCE_BATCH, module_logits

BLEND_FOLDS = 5


def stack_forms(fusion: checkpoints.FusionCheckpoint, paths: ProjectPaths, val: SplitData) -> dict[str, np.ndarray]:
    """Validation logits of a project's stack in both test-time forms: its weights applied to the `full` (train@)
    branches and to the `bagged` ones (the mean of each branch's fold models), each aligned to the fold models'
    logits as the fusion stage aligns the form it deploys."""
    names = list(fusion.branches)
    folds = len(list(paths.fold_models(names[0]).glob("fold*.pt")))
    fold_ckpts = {
        n: [checkpoints.load_branch(paths.fold_models(n) / f"fold{g}.pt") for g in range(folds)] for n in names
    }
    fold_val = fold_logits(fold_ckpts, val.inputs)
    z, _, _ = out_of_fold(names, fusion.classes, paths)
    raw = {
        "full": module_logits(fusion_checkpoints.deployed_branches(fusion.branches, None), val.inputs, INFERENCE_BATCH),
        "bagged": {n: f.mean(axis=0) for n, f in fold_val.items()},
    }
    weights, intercept = np.asarray(fusion.stack["weights"]), np.asarray(fusion.stack["intercept"])
    out = {}
    for form, logits in raw.items():
        a = alignment(logits, fold_val, z)
        aligned = np.stack([np.asarray(a[n]["scale"]) * logits[n] + np.asarray(a[n]["offset"]) for n in names], axis=1)
        out[form] = stacking.combine(aligned, weights, intercept)
    return out


def blend(fusion: checkpoints.FusionCheckpoint, paths: ProjectPaths, project: Path, val: SplitData) -> np.ndarray:
    """Cross-validated validation logits of the combiner fitted on the train@ models' validation logits."""
    z = module_logits(fusion_checkpoints.deployed_branches(fusion.branches, None), val.inputs, INFERENCE_BATCH)
    z_val = np.stack(list(z.values()), axis=1)
    with h5store.reader(paths.records) as h5:
        rows = np.searchsorted(h5["ecg_id"][...], val.ecg_id)
        patient_id = h5["patient_id"][...][rows]
    split = load_params(project / "params.yaml").split
    split = dataclasses.replace(split, method="stratified")  # patient-grouped, label-stratified parts
    groups = crossfit_groups(np.zeros(len(val.y)), patient_id, val.y, split, BLEND_FOLDS)
    out = np.empty(val.y.shape)
    for g in range(BLEND_FOLDS):
        held = groups == g
        weights, intercept = stacking.fit_combiner(z_val[~held], val.y[~held].astype(np.float64), None, 0.01)
        out[held] = stacking.combine(z_val[held], weights, intercept)
    return out


def study_run(run: Path, n_boot: int) -> tuple[dict[str, tuple[float, float]], float]:
    """Per lever form, (AUC, BCE) minus the base's deployed form on this run's validation split; and the ratio
    of validation to training records."""
    base_dir = run / "base"
    base = ProjectPaths(base_dir)
    fusion = checkpoints.load_fusion(base.model("fusion"))
    split = json.loads(base.split.read_text())
    val = load_split(input_files(base, list(fusion.branches)), split["val"], base.records)
    y = val.y.astype(np.float64)
    logits = {f"base {form}": z for form, z in stack_forms(fusion, base, val).items()}
    for variant in sorted(p for p in run.iterdir() if p.is_dir() and p.name != "base"):
        other = ProjectPaths(variant)
        if json.loads(other.split.read_text())["val"] != split["val"]:
            raise SystemExit(f"{variant}: its validation split is not {base_dir}'s")
        forms = stack_forms(checkpoints.load_fusion(other.model("fusion")), other, val)
        logits |= {f"{variant.name} {form}": z for form, z in forms.items()}
    logits["blend (no cross-fitting)"] = blend(fusion, base, base_dir, val)
    reference = f"base {fusion.head['test_logits']}"
    resamples = bootstrap_indices(val.y, n_boot, 0)
    bce = {k: stacking.bce(z, y).mean(axis=1) for k, z in logits.items()}
    auc = {k: resampled_aucs(val.y, z, resamples).mean(axis=1) for k, z in logits.items()}
    n_train = len(split["train"])
    print(f"\n{run.name}: {len(y)} validation records; reference: {reference}")
    out = {}
    for k, z in logits.items():
        d_auc = macro_auc(val.y, z) - macro_auc(val.y, logits[reference])
        d_bce = float((bce[k] - bce[reference]).mean())
        a_low, a_high = percentile_interval(auc[k] - auc[reference])
        b_low, b_high = percentile_interval((bce[k] - bce[reference])[resamples].mean(axis=1))
        print(
            f"  {k:28s} AUC {macro_auc(val.y, z):.4f} ({d_auc:+.4f} [{a_low:+.4f}, {a_high:+.4f}])  "
            f"BCE {bce[k].mean():.4f} ({d_bce:+.4f} [{b_low:+.4f}, {b_high:+.4f}])"
        )
        out[k] = (d_auc, d_bce)
    return out, len(y) / n_train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path, help="folders each holding base/ and variant projects")
    parser.add_argument("--bootstrap", type=int, default=1000)
    args = parser.parse_args()
    results = [study_run(run, args.bootstrap) for run in args.runs]
    ratio = float(np.mean([r for _, r in results]))
    print(f"\nover {len(results)} runs, mean difference from each run's reference [95% corrected t interval]:")
    for key in results[0][0]:
        rows = np.array([r[key] for r, _ in results if key in r])
        lines = []
        for i, what in enumerate(("AUC", "BCE")):
            low, high = mean_interval(rows[:, i], ratio)
            lines.append(f"{what} {rows[:, i].mean():+.4f} [{low:+.4f}, {high:+.4f}]")
        better = int((rows[:, 0] > 0).sum())
        print(f"  {key:28s} {'  '.join(lines)}  (AUC higher in {better} of {len(rows)})")


if __name__ == "__main__":
    main()
