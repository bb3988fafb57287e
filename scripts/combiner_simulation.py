"""Which rule should the stacked fusion use to combine its branches? A simulation with known ground truth.

    python scripts/combiner_simulation.py [--reps-small 200] [--reps-full 20] [--seed 0]

Each simulated dataset has 5 classes (PTB-XL's superdiagnostic prevalences) and 4 branches whose logits carry known
signal: `strong` and `correlated` see the same latent ECG factor with correlated noise (the correlated one a little
weaker, so the validation split often picks the wrong one),
`unique` sees a second factor no other branch sees, `noise` is pure noise; each branch has its own scale and
centre. The rules are fitted on out-of-fold logits of a training split in K=2 groups, each group's logits from
another fold model (its own scale and shift per branch and class), and (where they need one) pick a branch on a
validation split; they are scored on 20,000 fresh records. Two sizes: the sample's (350
training, 70 validation records) and PTB-XL's (17,000 / 2,200). Two worlds: the unique factor strong (a stack
should gain) or weak (the strong branch alone is nearly as good).

Printed per size, world and rule: fused test macro AUC minus the best single branch's (the oracle best on the
test records), mean, sd and 5th percentile over the datasets; and how far the output moves when the same data is
trained again on another thread count (out-of-fold and validation logits perturbed by 10% of their spread, the fold
models' scales and shifts by a fifth of theirs): mean and largest |change| in test macro AUC.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import numpy as np
from sklearn.metrics import roc_auc_score

from ptbxl_multimodal.fusion import stacking as S

PREVALENCE = np.array([0.44, 0.25, 0.24, 0.22, 0.12])  # NORM, MI, STTC, CD, HYP
BRANCHES = ["strong", "correlated", "unique", "noise"]
WORLDS = {"unique signal strong": 1.2, "unique signal weak": 0.25}  # weight of the second factor in the truth
SIZES = {"sample (350 / 70)": (350, 70), "full (17,000 / 2,200)": (17000, 2200)}
TEST_RECORDS = 20000


def simulate(n: int, unique: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Branch logits (n, 4, C) and labels (n, C) of one world."""
    c = PREVALENCE.size
    a, u, common = rng.normal(size=(3, n, c))
    truth = np.log(PREVALENCE / (1 - PREVALENCE)) + 2.0 * a + unique * u
    y = (rng.random((n, c)) < 1 / (1 + np.exp(-truth))).astype(float)
    strong = 1.5 * (a + 0.6 * (0.6 * common + 0.8 * rng.normal(size=(n, c)))) - 1.0
    correlated = 0.7 * (a + 0.7 * (0.6 * common + 0.8 * rng.normal(size=(n, c)))) + 0.5
    unique_branch = 1.0 * (u + 0.8 * rng.normal(size=(n, c)))
    noise = rng.normal(size=(n, c))
    return np.stack([strong, correlated, unique_branch, noise], axis=1), y


def macro_auc(y: np.ndarray, s: np.ndarray) -> float:
    return float(np.mean([roc_auc_score(y[:, c], s[:, c]) for c in range(y.shape[1])]))


def old_switch(z: np.ndarray, y: np.ndarray, groups: np.ndarray, best: int) -> tuple[np.ndarray, np.ndarray]:
    """The rule before: the stack (ridge 0.01 toward 0) if its leave-one-group-out BCE beats the validation-best
    branch alone (refitted the same way), else that branch alone."""

    def loss(x: np.ndarray) -> float:
        total = 0.0
        for g in np.unique(groups):
            held = groups == g
            w, b = S.fit_combiner(x[~held], y[~held], None, 0.01)
            total += S.bce(S.combine(x[held], w, b), y[held]).sum()
        return total

    if loss(z) < loss(z[:, best : best + 1]):
        return S.fit_combiner(z, y, None, 0.01)
    w, b = np.zeros((z.shape[1], y.shape[1])), np.zeros(y.shape[1])
    w[best] = 1.0
    return w, b


def shrink_to_best(z: np.ndarray, y: np.ndarray, groups: np.ndarray, best: int) -> tuple[np.ndarray, np.ndarray]:
    """Shrinkage toward the validation-best branch's calibrated logit (strength by leave-one-group-out BCE)."""

    def target(zz: np.ndarray, yy: np.ndarray) -> np.ndarray:
        t = np.zeros((zz.shape[1], yy.shape[1]))
        t[best] = S.fit_combiner(zz[:, best : best + 1], yy)[0][0]
        return t

    losses = np.zeros(len(S.STRENGTHS))
    for g in np.unique(groups):
        held = groups == g
        t = target(z[~held], y[~held])
        for i, s in enumerate(S.STRENGTHS):
            w, b = S.fit_combiner(z[~held], y[~held], t, s)
            losses[i] += S.bce(S.combine(z[held], w, b), y[held]).sum()
    chosen = max(i for i in range(len(S.STRENGTHS)) if losses[i] <= losses.min() + 1e-12)
    return S.fit_combiner(z, y, target(z, y), S.STRENGTHS[chosen])


def best_alone(z: np.ndarray, y: np.ndarray, groups: np.ndarray, best: int) -> tuple[np.ndarray, np.ndarray]:
    w, b = np.zeros((z.shape[1], y.shape[1])), np.zeros(y.shape[1])
    w[best] = 1.0
    return w, b


def shipped(z: np.ndarray, y: np.ndarray, groups: np.ndarray, best: int) -> tuple[np.ndarray, np.ndarray]:
    fitted = S.fit_shrunk(z, y, groups, BRANCHES)
    return np.asarray(fitted.weights), np.asarray(fitted.intercept)


RULES: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray, int], tuple[np.ndarray, np.ndarray]]] = {
    "validation-best branch alone": best_alone,
    "switch: stack or best alone (before)": old_switch,
    "free stack (strength 0)": lambda z, y, g, b: S.fit_combiner(z, y),
    "calibrated average (strength inf)": lambda z, y, g, b: S.fit_combiner(z, y, S.calibrated_average(z, y), 1e4),
    "shrink toward the best branch": shrink_to_best,
    "shrink toward the calibrated average (shipped)": shipped,
}


def fold_effects(rng: np.random.Generator, size: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Per cross-fitting group, branch and class, the scale and shift of that group's fold model: each group's
    out-of-fold logits come from another model, so they differ in spread and centre."""
    shape = (2, len(BRANCHES), PREVALENCE.size)
    return np.exp(size * rng.normal(0, 0.25, shape)), size * rng.normal(0, 0.3, shape)


def out_of_fold(z: np.ndarray, groups: np.ndarray, effects: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    scale, shift = effects
    return z * scale[groups] + shift[groups]


def one_dataset(n_train: int, n_val: int, unique: float, rng: np.random.Generator) -> dict[str, tuple[float, float]]:
    """Per rule: fused test AUC minus the oracle best branch's, and |AUC change| when the training and validation
    logits are perturbed by 10% of their spread and the fold models' scales and shifts by a fifth of theirs (the
    same data trained again on another thread count)."""
    z, y = simulate(n_train, unique, rng)
    zv, yv = simulate(n_val, unique, rng)
    zt, yt = simulate(TEST_RECORDS, unique, rng)
    groups = rng.permutation(np.arange(n_train) % 2)
    effects = fold_effects(rng)
    nudge = fold_effects(rng, 0.2)
    runs = {
        "as drawn": (out_of_fold(z, groups, effects), zv),
        "perturbed": (
            out_of_fold(
                z + 0.1 * z.std(axis=0) * rng.normal(size=z.shape),
                groups,
                (effects[0] * nudge[0], effects[1] + nudge[1]),
            ),
            zv + 0.1 * zv.std(axis=0) * rng.normal(size=zv.shape),
        ),
    }
    best_test = max(macro_auc(yt, zt[:, b]) for b in range(len(BRANCHES)))
    aucs: dict[str, list[float]] = {}
    for oof, val in runs.values():
        best_val = int(np.argmax([macro_auc(yv, val[:, b]) for b in range(len(BRANCHES))]))
        for name, rule in RULES.items():
            aucs.setdefault(name, []).append(macro_auc(yt, S.combine(zt, *rule(oof, y, groups, best_val))))
    return {name: (a[0] - best_test, abs(a[1] - a[0])) for name, a in aucs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps-small", type=int, default=200)
    parser.add_argument("--reps-full", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    for size, (n_train, n_val) in SIZES.items():
        reps = args.reps_small if n_train < 1000 else args.reps_full
        if reps < 2:
            continue
        for world, unique in WORLDS.items():
            rows = [one_dataset(n_train, n_val, unique, rng) for _ in range(reps)]
            print(f"\n### {size}, {world}: {reps} datasets\n")
            print("| rule | fused - best branch, mean | sd | 5th pct | perturbed: mean abs change | largest |")
            print("|---|---:|---:|---:|---:|---:|")
            for name in RULES:
                d = np.array([r[name][0] for r in rows])
                m = np.array([r[name][1] for r in rows])
                print(
                    f"| {name} | {d.mean():+.4f} | {d.std(ddof=1):.4f} | {np.percentile(d, 5):+.4f} "
                    f"| {m.mean():.4f} | {m.max():.4f} |"
                )


if __name__ == "__main__":
    main()
