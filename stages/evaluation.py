"""Score models on the test split with thresholds tuned on validation, and build curve and plot data."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import precision_recall_curve, roc_curve

from . import metrics as M

CURVE_GRID = np.linspace(0.0, 1.0, 101)


def score(y_test: np.ndarray, p_test: np.ndarray, y_val: np.ndarray, p_val: np.ndarray, classes: list[str],
          n_bootstrap: int, seed: int) -> dict:
    """All test metrics of one model; decision thresholds come from the validation split only."""
    thresholds = M.tune_thresholds(y_val, p_val)
    decision = p_test >= thresholds
    per = M.binary_scores(y_test, decision)
    aucs = M.per_class_auc(y_test, p_test)
    low, high = M.bootstrap_macro_auc(y_test, p_test, n_bootstrap, seed)
    f_max, f_max_t = M.fmax(y_test, p_test)
    return {
        "macro_auc": M.macro_auc(y_test, p_test),
        "macro_auc_ci95_low": low,
        "macro_auc_ci95_high": high,
        "fmax": f_max,
        "fmax_threshold": f_max_t,
        "subset_accuracy": M.subset_accuracy(y_test, decision),
        "macro": {k: float(np.mean(per[k])) for k in ("precision", "recall", "f1", "accuracy")},
        "per_class": {
            c: {"auc": _num(aucs[i]), "threshold": float(thresholds[i]), "support": int(y_test[:, i].sum()),
                **{k: float(per[k][i]) for k in ("precision", "recall", "f1", "accuracy")},
                **{k: int(per[k][i]) for k in ("tp", "fp", "fn", "tn")}}
            for i, c in enumerate(classes)
        },
        "test_records": int(y_test.shape[0]),
    }


def _num(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def roc_rows(y: np.ndarray, probs: dict[str, np.ndarray], c: int) -> list[dict]:
    """ROC curves of every model for class c, on a shared FPR grid (TPR interpolated), for `dvc plots`."""
    rows = [{"fpr": float(f)} for f in CURVE_GRID]
    for name, p in probs.items():
        if 0 < y[:, c].sum() < len(y):
            fpr, tpr, _ = roc_curve(y[:, c], p[:, c])
            values = np.interp(CURVE_GRID, fpr, tpr)
        else:
            values = np.full(CURVE_GRID.size, np.nan)
        for row, v in zip(rows, values):
            row[name] = None if np.isnan(v) else round(float(v), 6)
    return rows


def pr_rows(y: np.ndarray, probs: dict[str, np.ndarray], c: int) -> list[dict]:
    """Precision-recall curves of every model for class c on a shared recall grid (interpolated precision:
    the best precision at this recall or above)."""
    rows = [{"recall": float(r)} for r in CURVE_GRID]
    for name, p in probs.items():
        if y[:, c].sum() > 0:
            precision, recall, _ = precision_recall_curve(y[:, c], p[:, c])
            values = [float(precision[recall >= r].max()) for r in CURVE_GRID]  # recall reaches 1.0 at its start
        else:
            values = [None] * CURVE_GRID.size
        for row, v in zip(rows, values):
            row[name] = None if v is None else round(v, 6)
    return rows


def confusion_rows(y: np.ndarray, decision: np.ndarray, classes: list[str]) -> list[dict]:
    """One row per (record, class): actual and predicted as '<class> yes/no', for the confusion template."""
    rows = []
    for i, c in enumerate(classes):
        for actual, predicted in zip(y[:, i].astype(bool), decision[:, i].astype(bool)):
            rows.append({"actual": f"{c} {'yes' if actual else 'no'}", "predicted": f"{c} {'yes' if predicted else 'no'}"})
    return rows
