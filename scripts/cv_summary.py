"""Summaries over repeated runs (test-fold rotations or seeds): mean and spread per model, fusion against the
validation-best branch and each ablation against fusion, with the corrected resampled t-test (Nadeau and Bengio
2003) over rotations and a plain t-test over seeds.

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
    """One run's figures: test macro AUC per model (branches and `fusion`), and what its evaluate stage wrote in
    fusion_vs_best.json: the validation-best branch (as the fusion deploys it), fusion minus it in test macro AUC,
    and the run's n_test / n_train; and, from views/, each ablation's test macro AUC minus the fusion's
    (`no_<branch>`: the combiner refitted without it; `<branch>`: that branch alone, as deployed)."""

    name: str
    test_auc: dict[str, float]
    best_branch: str
    fusion_minus_best: float
    test_train_ratio: float
    views: dict[str, float]
    same_as: str | None = None  # the branch whose test AUC the fusion's equals on every resample (one branch alone)


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


def mean_interval(differences: np.ndarray, test_train_ratio: float, level: float = 0.95) -> tuple[float, float]:
    """The interval of the mean difference that goes with `corrected_t_test` (`test_train_ratio` 0: the plain
    one): mean -+ t(level, J - 1) * sqrt((1/J + n_test/n_train) * var(d))."""
    j = differences.size
    if j < 2:
        return float("nan"), float("nan")
    half = stats.t.ppf(0.5 + level / 2, df=j - 1) * math.sqrt((1 / j + test_train_ratio) * np.var(differences, ddof=1))
    return float(differences.mean() - half), float(differences.mean() + half)


def plain_t_test(differences: np.ndarray) -> tuple[float, float]:
    """One-sample t statistic of the differences against 0 and its two-sided p-value (J - 1 degrees of freedom)."""
    return corrected_t_test(differences, 0.0)


def summarize(runs: list[Run], kind: str) -> dict:
    """Per model: mean and standard deviation of test macro AUC over the runs; fusion minus each run's
    validation-best branch, and each ablation (views) minus fusion: the differences, their mean and sd, a t-test
    and how many runs fusion won.

    Rotations (`kind` "rotations") train on overlapping folds and test on different ones: the corrected resampled
    t-test, with the runs' mean n_test / n_train. Seeds share their training and test data, so no correction has
    a basis: a plain t-test over seeds, which speaks of seed-to-seed variation on this one test set only.
    """
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
    ratio = float(np.mean([r.test_train_ratio for r in runs]))

    def compared(diffs: np.ndarray) -> dict:
        used = ratio if kind == "rotations" else 0.0
        (t, p), (lo, hi) = corrected_t_test(diffs, used), mean_interval(diffs, used)
        sd = float(np.std(diffs, ddof=1)) if diffs.size > 1 else float("nan")
        return {
            "differences": diffs.tolist(),
            "mean": float(diffs.mean()),
            "sd": sd,
            "lo": lo,
            "hi": hi,
            "t": t,
            "p": p,
        }

    test = f"corrected t, n_test/n_train = {ratio:.3f}" if kind == "rotations" else "t over seeds, one test set"
    best = compared(np.array([r.fusion_minus_best for r in runs]))
    views = {}  # ablation minus fusion: negative = what the left-out part adds; fusion better where < 0
    for v in [v for v in runs[0].views if all(v in r.views for r in runs)]:
        c = compared(np.array([r.views[v] for r in runs]))
        views[v] = {**c, "wins": int((np.array(c["differences"]) < 0).sum())}
    return {
        "runs": [r.name for r in runs],
        "models": per_model,
        "fusion_minus_best": {
            **best,
            "best_branch": [r.best_branch for r in runs],
            "test": test,
            "wins": int((np.array(best["differences"]) > 0).sum()),
            "test_train_ratio": ratio,
        },
        "views": views,
        "single_branch": [f"{r.name} ({r.same_as})" for r in runs if r.same_as],
    }


def to_markdown(summary: dict) -> str:
    """The summary as Markdown tables: models; fusion against the validation-best branch; the ablations."""
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
        f"| fusion minus the validation-best branch (as deployed) | mean [95% CI] | {f['test']} (p) | fusion won "
        "| per run |",
        "|---|---|---|---|---|",
        f"| test macro AUC | {f['mean']:+.3f} [{f['lo']:+.3f}, {f['hi']:+.3f}] | {f['t']:.2f} (p = {f['p']:.2f}) "
        f"| {f['wins']} of {len(names)} | {per_run} |",
    ]
    if summary.get("single_branch"):
        lines += [
            "",
            f"**Flagged:** the deployed fusion of {', '.join(summary['single_branch'])} is a single branch (its test "
            "AUC equals that branch's on every resample): its fusion rows measure that branch, and its ablation "
            "rows compare stacks with it.",
        ]
    if summary["views"]:
        lines += [
            "",
            f"| what each view adds: ablation minus fusion | mean ± sd [95% CI] | {f['test']} (p) | fusion better "
            "| per run |",
            "|---|---|---|---|---|",
        ]
        for view, v in summary["views"].items():
            what = f"without {view[3:]}" if view.startswith("no_") else f"{view} alone"
            per_run = ", ".join(f"{d:+.3f}" for d in v["differences"])
            lines.append(
                f"| {what} | {v['mean']:+.3f} ± {v['sd']:.3f} [{v['lo']:+.3f}, {v['hi']:+.3f}] "
                f"| {v['t']:.2f} (p = {v['p']:.2f}) "
                f"| {v['wins']} of {len(names)} | {per_run} |"
            )
    return "\n".join(lines) + "\n"
