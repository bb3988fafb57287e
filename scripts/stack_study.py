"""Confirm the stacked fusion's rule on finished runs' validation splits (never their test splits).

    python scripts/stack_study.py PROJECT [PROJECT ...] [--bootstrap 1000]

Each PROJECT is a folder after a finished `dvc repro` with `fusion.method: stack`. On its validation split, with the
combiner fitted on its out-of-fold logits as the fusion stage fits it, it prints validation macro AUC and BCE of:
- the shipped rule on the deployed branches aligned to the fold models' logits (what the run deploys);
- the same weights on the deployed logits as they come, unaligned (what was deployed before under `full`);
- the rules it was chosen against (scripts/combiner_simulation.py): the switch between the stack and the
  validation-best branch alone (the rule before), the free stack, the calibrated average, the best branch alone;
each minus the shipped rule, paired (same records, same bootstrap resamples), then the mean over the projects.
The validation-best branch is picked on the same validation records it is scored on: its row is optimistic.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from combiner_simulation import best_alone, old_switch
from ptbxl_multimodal import checkpoints
from ptbxl_multimodal.branches import input_files
from ptbxl_multimodal.config.paths import ProjectPaths
from ptbxl_multimodal.data.loading import load_split
from ptbxl_multimodal.evaluation.metrics import bootstrap_indices, macro_auc, percentile_interval, resampled_aucs
from ptbxl_multimodal.fusion import checkpoints as fusion_checkpoints
from ptbxl_multimodal.fusion import stacking
from ptbxl_multimodal.fusion.train_stack import out_of_fold
from ptbxl_multimodal.models.runtime import INFERENCE_BATCH, module_logits

SHIPPED = "shipped: shrunk stack, aligned"


def rules_on_validation(project: Path) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Validation labels and each rule's fused validation logits for one finished project."""
    paths = ProjectPaths(project)
    fusion = checkpoints.load_fusion(paths.model("fusion"))
    names = list(fusion.branches)
    z, y, groups = out_of_fold(names, fusion.classes, paths)
    val = load_split(input_files(paths, names), json.loads(paths.split.read_text())["val"], paths.records)
    raw = fusion_checkpoints.deployed_branches(fusion.branches, fusion.fold_branches)
    aligned = fusion_checkpoints.aligned_branches(raw, fusion.stack["align"])
    z_raw = np.stack(list(module_logits(raw, val.inputs, INFERENCE_BATCH).values()), axis=1)
    z_val = np.stack(list(module_logits(aligned, val.inputs, INFERENCE_BATCH).values()), axis=1)
    best = names.index(fusion.stack["best_branch"])
    shipped = stacking.fit_shrunk(z, y, groups, names)
    w, b = np.asarray(shipped.weights), np.asarray(shipped.intercept)
    fused = {
        SHIPPED: stacking.combine(z_val, w, b),
        "same weights, deployed logits unaligned": stacking.combine(z_raw, w, b),
        "switch: stack or best alone (before)": stacking.combine(z_val, *old_switch(z, y, groups, best)),
        "free stack (strength 0)": stacking.combine(z_val, *stacking.fit_combiner(z, y)),
        "calibrated average": stacking.combine(
            z_val, *stacking.fit_combiner(z, y, stacking.calibrated_average(z, y), stacking.STRENGTHS[-1])
        ),
        "validation-best branch alone (optimistic)": stacking.combine(z_val, *best_alone(z, y, groups, best)),
    }
    print(f"\n{project}: {len(val.y)} validation records; deployed: {shipped.describe()}; best: {names[best]}")
    return val.y.astype(np.float64), fused


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("projects", type=Path, nargs="+")
    parser.add_argument("--bootstrap", type=int, default=1000)
    args = parser.parse_args()
    diffs: dict[str, list[float]] = {}
    for project in args.projects:
        y, fused = rules_on_validation(project)
        resamples = bootstrap_indices(y, args.bootstrap, 0)
        auc = {rule: resampled_aucs(y, f, resamples).mean(axis=1) for rule, f in fused.items()}
        print("| rule | val macro AUC | val BCE | AUC minus shipped [95% CI] |\n|---|---:|---:|---|")
        for rule, f in fused.items():
            point = macro_auc(y, f) - macro_auc(y, fused[SHIPPED])
            low, high = percentile_interval(auc[rule] - auc[SHIPPED])
            diffs.setdefault(rule, []).append(point)
            bce = float(stacking.bce(f, y).mean())
            print(f"| {rule} | {macro_auc(y, f):.4f} | {bce:.4f} | {point:+.4f} [{low:+.4f}, {high:+.4f}] |")
    print(f"\nMean over {len(args.projects)} projects, AUC minus shipped (higher in how many):")
    for rule, d in diffs.items():
        print(f"- {rule}: {np.mean(d):+.4f} ({sum(x > 0 for x in d)} of {len(d)})")


if __name__ == "__main__":
    main()
