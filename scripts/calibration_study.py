"""Which `calibration.method` should be the default? Measure it on the validation split of a finished run.

    python scripts/calibration_study.py [--project .] [--folds 5] [--bootstrap 1000] [--bins 10]

For every model of the run (models/*.pt) and every method (none, temperature, platt), the calibration is
cross-validated within the validation split (fitted on the other folds, applied to each fold), so the figures
say what a calibration fitted on all of validation does to records it has not seen. Prints macro Brier score,
ECE and the paired change in Brier score against `none` with its 95% bootstrap interval. The test split is not
read.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ptbxl_multimodal import checkpoints
from ptbxl_multimodal.branches import BRANCH_NAMES, input_files
from ptbxl_multimodal.config.paths import ProjectPaths
from ptbxl_multimodal.data.loading import load_split
from ptbxl_multimodal.evaluation.calibration import METHODS, ece, fit, paired_change
from ptbxl_multimodal.evaluation.metrics import bootstrap_indices
from ptbxl_multimodal.predict.inference import Predictor


def cross_validated(y: np.ndarray, logits: np.ndarray, method: str, folds: int, seed: int) -> np.ndarray:
    """Calibrated probabilities of every record from a calibration fitted on the other folds: an honest
    estimate, on one split, of what calibration fitted on all of it does to new records."""
    order = np.random.default_rng(seed).permutation(len(y))
    probs = np.empty(logits.shape, np.float64)
    for part in np.array_split(order, folds):
        rest = np.setdiff1d(order, part)
        probs[part] = fit(y[rest], logits[rest], method).probabilities(logits[part])
    return probs


def compare_methods(
    y: np.ndarray, logits: np.ndarray, bins: int, folds: int, seed: int, resamples: np.ndarray
) -> dict[str, dict[str, float]]:
    """Every method, cross-validated within one split (`cross_validated`): macro Brier score and ECE, and the
    paired change in macro Brier score against `none` (negative is better) on the shared resamples. This is how
    the default `calibration.method` is chosen, on the validation split only."""
    out: dict[str, dict[str, float]] = {}
    base = None
    for method in METHODS:
        probs = cross_validated(y, logits, method, folds, seed)
        per_record = ((probs - y) ** 2).mean(axis=1)
        if base is None:
            base = per_record
        diff, low, high = paired_change(per_record - base, resamples)
        out[method] = {
            "brier": float(per_record.mean()),
            "ece": float(ece(y, probs, bins).mean()),
            "brier_change": diff,
            "ci95_low": low,
            "ci95_high": high,
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--project", default=".", help="a project folder after a finished `dvc repro`")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--bins", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    paths = ProjectPaths(Path(args.project))
    split = json.loads(paths.split.read_text())
    val = load_split(input_files(paths), split["val"], paths.records)
    resamples = bootstrap_indices(val.y, args.bootstrap, args.seed)
    print(f"validation split: {len(val.y)} records; calibration cross-validated over {args.folds} folds")
    print(f"{'model':8} {'method':12} {'Brier':>7} {'ECE':>7}  {'Brier change vs none [95% CI]':>32}")
    for name in (*BRANCH_NAMES, "fusion"):
        ckpt = checkpoints.load(paths.model(name))
        logits = Predictor(ckpt, 256, "cpu").logits(val.inputs)
        for method, r in compare_methods(val.y, logits, args.bins, args.folds, args.seed, resamples).items():
            change = f"{r['brier_change']:+.4f} [{r['ci95_low']:+.4f}, {r['ci95_high']:+.4f}]"
            print(f"{name:8} {method:12} {r['brier']:7.4f} {r['ece']:7.4f}  {change:>32}")


if __name__ == "__main__":
    main()
