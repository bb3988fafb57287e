"""The stacked fusion's combiner: per class, non-negative weights on the branch logits plus an intercept, shrunk
toward the average of the calibrated branches by an amount chosen on held-out loss.

Fitted by minimising binary cross-entropy on out-of-fold logits (scipy.optimize, L-BFGS-B with bounds) plus
`strength * |w - target|^2`, where the target gives each branch 1/B of its own calibration slope (the branch
fitted alone): the average of the calibrated branches, in which a branch with no signal gets no weight. The
strength comes from a grid by leave-one-cross-fitting-group-out BCE, so the output moves by degrees with the
evidence, from the free stack (strength 0) to the calibrated average: never a switch between unrelated models.
Chosen over a hard stack-or-best-branch switch, the free stack and shrinkage toward the validation-best branch by
a simulation with known ground truth (scripts/combiner_simulation.py, docs/pipeline.md).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, log_expit

INTERCEPT_BOUND = 30.0  # a class without positives would push the intercept to -inf
# Shrinkage strengths tried (penalty on |w - target|^2 added to the mean BCE); the last is the target itself.
STRENGTHS = (0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 1e4)
LIVE_WEIGHT = 1e-6  # a branch weighted above this in some class takes part in the combination


def bce(scores: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Binary cross-entropy of logits against 0/1 targets, elementwise."""
    return -(y * log_expit(scores) + (1 - y) * log_expit(-scores))


def fit_combiner(
    z: np.ndarray, y: np.ndarray, target: np.ndarray | None = None, strength: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Weights (B, C) >= 0 and intercepts (C,) minimising BCE of sum_b w[b, c] * z[:, b, c] + intercept[c], plus
    strength * sum_b (w[b, c] - target[b, c])^2; z is (n, B, C) logits, y (n, C)."""
    _, n_branches, n_classes = z.shape
    target = np.zeros((n_branches, n_classes)) if target is None else target
    weights, intercept = np.zeros((n_branches, n_classes)), np.zeros(n_classes)
    bounds = [(0.0, None)] * n_branches + [(-INTERCEPT_BOUND, INTERCEPT_BOUND)]
    for c in range(n_classes):
        start = np.append(target[:, c] if target[:, c].any() else np.full(n_branches, 1.0 / n_branches), 0.0)
        data = (z[:, :, c].astype(np.float64), y[:, c].astype(np.float64), target[:, c], strength)
        theta = minimize(_loss, start, args=data, jac=True, method="L-BFGS-B", bounds=bounds).x
        weights[:, c], intercept[c] = theta[:-1], theta[-1]
    return weights, intercept


def _loss(theta: np.ndarray, x: np.ndarray, t: np.ndarray, w0: np.ndarray, strength: float) -> tuple[float, np.ndarray]:
    """Mean BCE of the logits x @ w + b against t plus the shrinkage penalty on w - w0, and its gradient in (w, b)."""
    w = theta[:-1]
    s = x @ w + theta[-1]
    residual = (expit(s) - t) / len(t)
    gap = w - w0
    value = float(bce(s, t).mean()) + strength * float(gap @ gap)
    return value, np.append(x.T @ residual + 2 * strength * gap, residual.sum())


def combine(z: np.ndarray, weights: np.ndarray, intercept: np.ndarray) -> np.ndarray:
    """Fused logits (n, C) of branch logits z (n, B, C)."""
    return np.einsum("nbc,bc->nc", z, weights) + intercept


def calibrated_average(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The shrinkage target (B, C): 1/B of each branch's own calibration slope (its weight fitted alone), i.e. the
    average of the calibrated branches; a branch with no signal for a class gets about 0 there."""
    n_branches = z.shape[1]
    slopes = np.stack([fit_combiner(z[:, b : b + 1], y)[0][0] for b in range(n_branches)])
    return slopes / n_branches


def align_to_folds(deployed: np.ndarray, folds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per class, the scale and offset that give a branch's deployed logits (n, C) the centre and spread of its K
    cross-fitting models' logits (K, n, C) on the same records: scale * deployed + offset has the mean of all
    fold-model logits and the mean over k of fold model k's standard deviation. The combiner's weights are fitted
    on single fold-model (out-of-fold) logits; a train@ model trained on twice the records, or a mean of K
    models, spreads its logits differently. Label-free: needs inputs only."""
    spread = deployed.std(axis=0)
    scale = np.divide(folds.std(axis=1).mean(axis=0), spread, out=np.ones_like(spread), where=spread > 0)
    offset = folds.mean(axis=(0, 1)) - scale * deployed.mean(axis=0)
    return scale, offset


@dataclass(frozen=True)
class Combiner:
    """The fitted combination and how it was chosen: weights (B, C), intercepts (C,), the shrinkage target and
    strength, and the held-out (leave one cross-fitting group out) BCE of every strength tried."""

    branches: list[str]
    weights: list[list[float]]
    intercept: list[float]
    target: list[list[float]]
    strength: float
    held_out_loss: dict[str, float]  # str(strength) -> mean BCE

    def live_branches(self) -> list[str]:
        """The branches that take part: weighted above LIVE_WEIGHT in at least one class."""
        w = np.asarray(self.weights)
        return [name for b, name in enumerate(self.branches) if (w[b] > LIVE_WEIGHT).any()]

    def describe(self) -> str:
        """One line: which branches the combination uses, and how far it is shrunk."""
        live = self.live_branches()
        kind = f"{live[0]} alone" if len(live) == 1 else f"stack of {', '.join(live)}"
        return f"{kind} (shrinkage {self.strength:g} toward the calibrated average)"

    def to_dict(self) -> dict:
        return {**asdict(self), "live_branches": self.live_branches(), "used": self.describe()}


def held_out_losses(z: np.ndarray, y: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Mean BCE, per strength in STRENGTHS, of the combiner fitted (target included) on all groups but one and
    scored on that one, summed over the groups."""
    total = np.zeros(len(STRENGTHS))
    for g in np.unique(groups):
        held = groups == g
        target = calibrated_average(z[~held], y[~held])
        for i, strength in enumerate(STRENGTHS):
            weights, intercept = fit_combiner(z[~held], y[~held], target, strength)
            total[i] += bce(combine(z[held], weights, intercept), y[held]).sum()
    return total / y.size


def fit_shrunk(z: np.ndarray, y: np.ndarray, groups: np.ndarray, names: list[str]) -> Combiner:
    """The combiner on out-of-fold logits z (n, B, C): the strength with the lowest held-out loss (the larger on a
    tie: the simpler model), then the weights refitted on every group at that strength."""
    losses = held_out_losses(z, y, groups)
    best = max(i for i in range(len(STRENGTHS)) if losses[i] <= losses.min() + 1e-12)
    target = calibrated_average(z, y)
    weights, intercept = fit_combiner(z, y, target, STRENGTHS[best])
    return Combiner(
        list(names),
        weights.tolist(),
        intercept.tolist(),
        target.tolist(),
        STRENGTHS[best],
        {f"{s:g}": float(v) for s, v in zip(STRENGTHS, losses)},
    )


def fit_ablations(z: np.ndarray, y: np.ndarray, groups: np.ndarray, names: list[str]) -> dict[str, dict]:
    """The same rule refitted on the same out-of-fold logits without each branch in turn ("no_<branch>"): what
    each view adds, with no retraining, like for like with the deployed combiner. Empty for a single branch."""
    if len(names) < 2:
        return {}
    out = {}
    for b, name in enumerate(names):
        keep = [i for i in range(len(names)) if i != b]
        fitted = fit_shrunk(z[:, keep], y, groups, [names[i] for i in keep])
        out[f"no_{name}"] = {
            "branches": fitted.branches,
            "weights": fitted.weights,
            "intercept": fitted.intercept,
            "strength": fitted.strength,
        }
    return out
