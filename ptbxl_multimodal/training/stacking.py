"""The stacked fusion's combiner: per class, non-negative weights on the branch logits plus an intercept.

Fitted by minimising binary cross-entropy on out-of-fold logits (scipy.optimize, L-BFGS-B with bounds). The
best single branch is a corner of this family, so the stack is not worse than it asymptotically (Wolpert 1992;
Breiman 1996; van der Laan, Polley and Hubbard 2007, "Super Learner"). On a small training split it can be,
so `choose_combiner` compares both by leaving one cross-fitting group out and keeps the best branch alone
unless the combination wins.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, log_expit

INTERCEPT_BOUND = 30.0  # a class without positives would push the intercept to -inf
# L2 penalty on the weights (not the intercept), added to the mean BCE: keeps correlated branches from trading
# large weights. Chosen on validation (the sample's default run, fitted on out-of-fold logits, scored on the
# validation split's bagged logits): lambda 0 / 0.001 / 0.01 / 0.03 gave validation BCE 0.2767 / 0.2763 / 0.2757 /
# 0.2784 and macro AUC 0.9317 / 0.9327 / 0.9323 / 0.9344, every difference within its paired interval
# (`python scripts/stack_study.py --project <finished run>`).
RIDGE = 0.01


def bce(scores: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Binary cross-entropy of logits against 0/1 targets, elementwise."""
    return -(y * log_expit(scores) + (1 - y) * log_expit(-scores))


def fit_combiner(z: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weights (B, C) >= 0 and intercepts (C,) minimising BCE of sum_b w[b, c] * z[:, b, c] + intercept[c], plus
    RIDGE * sum_b w[b, c]^2; z is (n, B, C) logits, y (n, C)."""
    _, n_branches, n_classes = z.shape
    weights, intercept = np.zeros((n_branches, n_classes)), np.zeros(n_classes)
    bounds = [(0.0, None)] * n_branches + [(-INTERCEPT_BOUND, INTERCEPT_BOUND)]
    start = np.append(np.full(n_branches, 1.0 / n_branches), 0.0)
    for c in range(n_classes):
        data = (z[:, :, c].astype(np.float64), y[:, c].astype(np.float64))
        theta = minimize(_loss, start, args=data, jac=True, method="L-BFGS-B", bounds=bounds).x
        weights[:, c], intercept[c] = theta[:-1], theta[-1]
    return weights, intercept


def _loss(theta: np.ndarray, x: np.ndarray, t: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean BCE of the logits x @ w + b against t plus the ridge penalty on w, and its gradient in (w, b)."""
    w = theta[:-1]
    s = x @ w + theta[-1]
    residual = (expit(s) - t) / len(t)
    value = float(bce(s, t).mean()) + RIDGE * float(w @ w)
    return value, np.append(x.T @ residual + 2 * RIDGE * w, residual.sum())


def combine(z: np.ndarray, weights: np.ndarray, intercept: np.ndarray) -> np.ndarray:
    """Fused logits (n, C) of branch logits z (n, B, C)."""
    return np.einsum("nbc,bc->nc", z, weights) + intercept


def match_spread(fold_logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per class, the center and scale that give the mean of K fold models' logits (K, n, C) the spread of one fold
    model's: center = the mean's mean, scale = (mean over k of sd of model k) / (sd of the mean). The stack's weights
    are fitted on single fold-model (out-of-fold) logits, so the bagged form it deploys must look like them, or
    the deployed weights are not the fitted ones. Needs inputs only, no labels."""
    bag = fold_logits.mean(axis=0)
    center = bag.mean(axis=0)
    single, bagged = fold_logits.std(axis=1).mean(axis=0), bag.std(axis=0)
    scale = np.divide(single, bagged, out=np.ones_like(single), where=bagged > 0)
    return center, scale


def held_out_loss(z: np.ndarray, y: np.ndarray, groups: np.ndarray) -> float:
    """Mean BCE on each group of a combiner fitted on the other groups (leave one group out)."""
    total = 0.0
    for g in np.unique(groups):
        held = groups == g
        weights, intercept = fit_combiner(z[~held], y[~held])
        total += bce(combine(z[held], weights, intercept), y[held]).sum()
    return float(total / y.size)


@dataclass(frozen=True)
class StackChoice:
    """What the fusion uses, and why: the combination, or the validation-best branch alone."""

    used: str  # "stack" or "<branch> alone"
    weights: list[list[float]]  # (B, C)
    intercept: list[float]  # (C,)
    best_branch: str  # highest validation macro AUC in the deployed form: the branch the stack must beat
    held_out_loss_stack: float
    held_out_loss_best: float  # the best branch, calibrated the same way (its weight and intercept refitted)

    def to_dict(self) -> dict:
        return asdict(self)


def fit_ablations(z: np.ndarray, y: np.ndarray, names: list[str]) -> dict[str, dict]:
    """The combiner refitted on the same out-of-fold logits without each branch in turn ("no_<branch>"):
    what each view adds, with no retraining. Empty for a single branch."""
    if len(names) < 2:
        return {}
    out = {}
    for b, name in enumerate(names):
        keep = [i for i in range(len(names)) if i != b]
        weights, intercept = fit_combiner(z[:, keep], y)
        out[f"no_{name}"] = {
            "branches": [names[i] for i in keep],
            "weights": weights.tolist(),
            "intercept": intercept.tolist(),
        }
    return out


def choose_combiner(z: np.ndarray, y: np.ndarray, groups: np.ndarray, names: list[str], best: str) -> StackChoice:
    """The combiner fitted on all out-of-fold logits if it beats `best` alone on leave-one-group-out loss;
    otherwise `best` alone (weight 1, intercept 0: the fusion's output is that branch's, in the form it is
    deployed in, exactly the comparator of evaluate's fusion_vs_best)."""
    b = names.index(best)
    loss_stack = held_out_loss(z, y, groups)
    loss_best = held_out_loss(z[:, b : b + 1], y, groups)
    if loss_stack < loss_best:
        weights, intercept = fit_combiner(z, y)
        used = "stack"
    else:
        weights, intercept = np.zeros((len(names), y.shape[1])), np.zeros(y.shape[1])
        weights[b] = 1.0
        used = f"{best} alone"
    return StackChoice(used, weights.tolist(), intercept.tolist(), best, loss_stack, loss_best)
