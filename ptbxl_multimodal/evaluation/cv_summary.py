"""Summaries over repeated runs (test-fold rotations or seeds): mean and spread per model, and fusion against
the validation-best branch with the corrected resampled t-test (Nadeau and Bengio 2003).

Plain data in, plain data out: the runs' metrics are read elsewhere (scripts/cv.py reads DVC experiments).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

FOLDS = tuple(range(1, 11))  # PTB-XL's strat_fold values


def rotation(test_fold: int, folds: tuple[int, ...] = FOLDS) -> dict[str, list[int]]:
    """split params of one rotation: test fold k, validation fold k+1 (mod 10), training on the others."""
    if test_fold not in folds:
        raise ValueError(f"test fold {test_fold} is not one of {list(folds)}")
    val_fold = folds[(folds.index(test_fold) + 1) % len(folds)]
    train = [f for f in folds if f not in (test_fold, val_fold)]
    return {"split.train_folds": train, "split.val_folds": [val_fold], "split.test_folds": [test_fold]}


@dataclass(frozen=True)
class Run:
    """One run's figures: test and validation macro AUC per model (branches and `fusion`)."""

    name: str
    test_auc: dict[str, float]
    val_auc: dict[str, float]
    branches: list[str]  # the fusion's branches (fusion.branches)

    def best_branch(self) -> str:
        """The fusion's branch with the highest validation macro AUC in this run."""
        return max(self.branches, key=lambda b: self.val_auc[b])


def corrected_t_test(differences: np.ndarray, test_train_ratio: float) -> tuple[float, float]:
    """Nadeau and Bengio's corrected resampled t statistic and its two-sided p-value (J - 1 degrees of freedom):
    the variance term is (1/J + n_test/n_train) * var(d), for the overlap of the runs' training sets."""
    j = differences.size
    if j < 2:
        return float("nan"), float("nan")
    variance = float(np.var(differences, ddof=1))
    if variance == 0:
        return (math.copysign(math.inf, differences.mean()) if differences.mean() else float("nan")), float("nan")
    t = float(differences.mean() / math.sqrt((1 / j + test_train_ratio) * variance))
    return t, float(2 * stats.t.sf(abs(t), df=j - 1))


def summarize(runs: list[Run], test_train_ratio: float) -> dict:
    """Per model: mean and standard deviation of test macro AUC over the runs; fusion minus the validation-best
    branch of each run: the differences, their mean, the corrected t-test and how many runs fusion won."""
    if not runs:
        raise ValueError("no runs to summarize")
    models = [m for m in runs[0].test_auc if all(m in r.test_auc for r in runs)]
    per_model = {
        m: {
            "mean": float(np.mean(values)),
            "sd": float(np.std(values, ddof=1)) if len(values) > 1 else float("nan"),
            "runs": [float(v) for v in values],
        }
        for m in models
        for values in [np.array([r.test_auc[m] for r in runs])]
    }
    best = [r.best_branch() for r in runs]
    diffs = np.array([r.test_auc["fusion"] - r.test_auc[b] for r, b in zip(runs, best)])
    t, p = corrected_t_test(diffs, test_train_ratio)
    return {
        "runs": [r.name for r in runs],
        "models": per_model,
        "fusion_minus_best": {
            "best_branch": best,
            "differences": diffs.tolist(),
            "mean": float(diffs.mean()),
            "t": t,
            "p": p,
            "wins": int((diffs > 0).sum()),
            "test_train_ratio": test_train_ratio,
        },
    }


def to_markdown(summary: dict) -> str:
    """The summary as two Markdown tables (models; fusion against the validation-best branch)."""
    names = summary["runs"]
    lines = [
        f"| model | test macro AUC, mean ± sd over {len(names)} runs | per run ({', '.join(names)}) |",
        "|---|---|---|",
    ]
    for model, s in summary["models"].items():
        per_run = ", ".join(f"{v:.3f}" for v in s["runs"])
        lines.append(f"| {model} | {s['mean']:.3f} ± {s['sd']:.3f} | {per_run} |")
    f = summary["fusion_minus_best"]
    per_run = ", ".join(f"{d:+.3f} ({b})" for d, b in zip(f["differences"], f["best_branch"]))
    lines += [
        "",
        "| fusion minus the validation-best branch | mean | corrected t (p) | fusion won | per run |",
        "|---|---|---|---|---|",
        f"| test macro AUC | {f['mean']:+.3f} | {f['t']:.2f} (p = {f['p']:.2f}) | {f['wins']} of {len(names)} "
        f"| {per_run} |",
    ]
    return "\n".join(lines) + "\n"
