"""Multi-label classification metrics (scikit-learn based), with the definitions spelled out.

- macro AUC: mean of per-class ROC AUC over classes that have both positives and negatives.
- thresholds: per class, the one that maximises F1 on the validation split.
- per-class accuracy: binary accuracy of that class's decision, shown beside balanced accuracy and the
  accuracy of always giving the majority answer (98% accuracy on a class with 2% prevalence is that);
  subset accuracy: all classes right.
- bootstrap: one set of record resamples for every model (paired), redrawn until each holds a positive
  and a negative of every scoreable class.
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
    """Per-class precision, recall, F1, binary accuracy, balanced accuracy (mean of sensitivity and specificity),
    the accuracy of always predicting the majority answer, and the confusion counts (0 where undefined)."""
    y, d = y.astype(bool), decision.astype(bool)
    tp = (y & d).sum(axis=0).astype(float)
    fp = (~y & d).sum(axis=0).astype(float)
    fn = (y & ~d).sum(axis=0).astype(float)
    tn = (~y & ~d).sum(axis=0).astype(float)
    precision = np.divide(tp, tp + fp, out=np.zeros_like(tp), where=(tp + fp) > 0)
    recall = np.divide(tp, tp + fn, out=np.zeros_like(tp), where=(tp + fn) > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros_like(tp), where=(precision + recall) > 0)
    accuracy = (tp + tn) / y.shape[0]
    specificity = np.divide(tn, tn + fp, out=np.zeros_like(tp), where=(tn + fp) > 0)
    prevalence = (tp + fn) / y.shape[0]
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "accuracy": accuracy,
        "balanced_accuracy": (recall + specificity) / 2,
        "majority_accuracy": np.maximum(prevalence, 1 - prevalence),  # always answering the commoner answer
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


MAX_REDRAW_ROUNDS = 1000  # a class with one positive in 65 records is missing from ~37% of resamples


def scoreable(y: np.ndarray) -> np.ndarray:
    """Mask of the classes that have both positives and negatives: the ones macro AUC averages."""
    positives = y.sum(axis=0)
    return (positives > 0) & (positives < y.shape[0])


def bootstrap_indices(y: np.ndarray, n_resamples: int, seed: int) -> np.ndarray:
    """(n_resamples, n) record indices drawn with replacement, shared by every model scored on `y`.

    A resample that lacks a positive or a negative for a scoreable class is redrawn (as in the PTB-XL
    benchmark code), so every resample scores the same classes as the full split does.
    """
    rng = np.random.default_rng(seed)
    n = y.shape[0]
    yc = y[:, scoreable(y)].astype(bool)
    idx = rng.integers(0, n, (n_resamples, n))
    for _ in range(MAX_REDRAW_ROUNDS):
        counts = yc[idx].sum(axis=1)  # (R, classes)
        bad = ((counts == 0) | (counts == n)).any(axis=1)
        if not bad.any():
            return idx
        idx[bad] = rng.integers(0, n, (int(bad.sum()), n))
    raise ValueError(f"could not draw {n_resamples} bootstrap resamples holding every class; the split is too small")


def resampled_aucs(y: np.ndarray, p: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """(R, scoreable classes) ROC AUC of each resample in `idx` (from `bootstrap_indices`).

    AUC is the Mann-Whitney statistic from average ranks (equal to ROC AUC, ties included), computed for all
    resamples at once.
    """
    cols = np.flatnonzero(scoreable(y))
    n = idx.shape[1]
    out = np.empty((idx.shape[0], cols.size))
    for j, c in enumerate(cols):
        yc = y[idx, c].astype(bool)
        ranks = rankdata(p[idx, c], axis=1)
        pos = yc.sum(axis=1)
        rank_sum = np.where(yc, ranks, 0.0).sum(axis=1)
        out[:, j] = (rank_sum - pos * (pos + 1) / 2) / (pos * (n - pos))
    return out


def percentile_interval(values: np.ndarray) -> tuple[float, float]:
    """The 95% percentile interval of bootstrap values (NaN, NaN for none)."""
    if values.size == 0:
        return float("nan"), float("nan")
    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)


def paired_difference(point_a: float, point_b: float, boot_a: np.ndarray, boot_b: np.ndarray) -> dict[str, float]:
    """a minus b on the same records and the same resamples: the difference, its 95% interval and the share of
    resamples in which a is not better (difference <= 0)."""
    d = boot_a - boot_b
    low, high = percentile_interval(d)
    return {
        "diff": float(point_a - point_b),
        "ci95_low": low,
        "ci95_high": high,
        "share_le_0": float(np.mean(d <= 0)) if d.size else float("nan"),
    }


def summary_at_thresholds(y: np.ndarray, p: np.ndarray, thresholds: np.ndarray) -> dict[str, float]:
    """Macro precision/recall/F1/accuracy at per-class thresholds (used in training logs and evaluation)."""
    scores = binary_scores(y, p >= thresholds)
    return {k: float(np.mean(scores[k])) for k in ("precision", "recall", "f1", "accuracy")}
