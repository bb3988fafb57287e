"""Multi-label classification metrics (scikit-learn based), with the definitions spelled out.

- macro AUC: mean of per-class ROC AUC over classes that have both positives and negatives.
- thresholds: per class, the one that maximises F1 on the validation split.
- per-class accuracy: binary accuracy of that class's decision; subset accuracy: all classes right.
- Fmax: sample-centric maximum F1 over one global threshold, as in the PTB-XL benchmark
  (precision averaged over samples with at least one predicted label, recall over all samples).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata
from sklearn.metrics import precision_recall_curve, roc_auc_score

THRESHOLD_GRID = np.linspace(0.0, 1.0, 101)


def per_class_auc(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """ROC AUC per class; NaN where a class has only positives or only negatives."""
    out = np.full(y.shape[1], np.nan)
    for c in range(y.shape[1]):
        if 0 < y[:, c].sum() < y.shape[0]:
            out[c] = roc_auc_score(y[:, c], p[:, c])
    return out


def macro_auc(y: np.ndarray, p: np.ndarray) -> float:
    """Mean of the defined per-class AUCs (NaN if none is defined)."""
    aucs = per_class_auc(y, p)
    return float(np.nanmean(aucs)) if np.isfinite(aucs).any() else float("nan")


def tune_thresholds(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Per class, the probability threshold maximising F1 (ties: the lowest); 0.5 where undefined."""
    thresholds = np.full(y.shape[1], 0.5)
    for c in range(y.shape[1]):
        if y[:, c].sum() == 0:
            continue
        precision, recall, cut = precision_recall_curve(y[:, c], p[:, c])
        f1 = 2 * precision[:-1] * recall[:-1] / np.maximum(precision[:-1] + recall[:-1], 1e-12)
        thresholds[c] = float(cut[int(np.argmax(f1))])
    return thresholds


def binary_scores(y: np.ndarray, decision: np.ndarray) -> dict[str, np.ndarray]:
    """Per-class precision, recall, F1, binary accuracy and the confusion counts (0 where undefined)."""
    y, d = y.astype(bool), decision.astype(bool)
    tp = (y & d).sum(axis=0).astype(float)
    fp = (~y & d).sum(axis=0).astype(float)
    fn = (y & ~d).sum(axis=0).astype(float)
    tn = (~y & ~d).sum(axis=0).astype(float)
    precision = np.divide(tp, tp + fp, out=np.zeros_like(tp), where=(tp + fp) > 0)
    recall = np.divide(tp, tp + fn, out=np.zeros_like(tp), where=(tp + fn) > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros_like(tp), where=(precision + recall) > 0)
    accuracy = (tp + tn) / y.shape[0]
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "accuracy": accuracy,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
    }


def subset_accuracy(y: np.ndarray, decision: np.ndarray) -> float:
    """Exact-match ratio: share of records whose whole label set is predicted right."""
    return float(np.mean(np.all(y.astype(bool) == decision.astype(bool), axis=1)))


def fmax(y: np.ndarray, p: np.ndarray, grid: np.ndarray = THRESHOLD_GRID) -> tuple[float, float]:
    """Sample-centric Fmax and the global threshold reaching it."""
    y = y.astype(bool)
    best, best_t = 0.0, 0.5
    for t in grid:
        d = p >= t
        predicted = d.sum(axis=1)
        tp = (d & y).sum(axis=1)
        has_pred = predicted > 0
        if not has_pred.any():
            continue
        precision = np.mean(tp[has_pred] / predicted[has_pred])
        recall = np.mean(tp / np.maximum(y.sum(axis=1), 1))
        if precision + recall > 0:
            f = 2 * precision * recall / (precision + recall)
            if f > best:
                best, best_t = float(f), float(t)
    return best, best_t


def bootstrap_macro_auc(y: np.ndarray, p: np.ndarray, n_resamples: int, seed: int) -> tuple[float, float]:
    """Percentile 95% confidence interval of macro AUC over record resamples (NaN if n_resamples is 0).

    Per resample and class, AUC is the Mann-Whitney statistic from average ranks (equal to ROC AUC,
    ties included), computed for all resamples at once; classes with one label value in a resample
    are left out of that resample's macro mean, as in `macro_auc`.
    """
    if n_resamples == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    n = y.shape[0]
    idx = rng.integers(0, n, (n_resamples, n))
    aucs = np.full((n_resamples, y.shape[1]), np.nan)
    for c in range(y.shape[1]):
        yc, pc = y[idx, c].astype(bool), p[idx, c]
        ranks = rankdata(pc, axis=1)
        pos = yc.sum(axis=1)
        neg = n - pos
        ok = (pos > 0) & (neg > 0)
        rank_sum = np.where(yc, ranks, 0.0).sum(axis=1)
        aucs[ok, c] = (rank_sum[ok] - pos[ok] * (pos[ok] + 1) / 2) / (pos[ok] * neg[ok])
    defined = np.isfinite(aucs).any(axis=1)
    if not defined.any():
        return float("nan"), float("nan")
    values = np.nanmean(aucs[defined], axis=1)
    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)


def summary_at_thresholds(y: np.ndarray, p: np.ndarray, thresholds: np.ndarray) -> dict[str, float]:
    """Macro precision/recall/F1/accuracy at per-class thresholds (used in training logs and evaluation)."""
    scores = binary_scores(y, p >= thresholds)
    return {k: float(np.mean(scores[k])) for k in ("precision", "recall", "f1", "accuracy")}
