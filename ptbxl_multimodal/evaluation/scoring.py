"""Score models on the test split with thresholds tuned on validation, and build curve and plot data."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import precision_recall_curve, roc_curve

from ptbxl_multimodal.evaluation import metrics as M


def score(
    y_test: np.ndarray,
    p_test: np.ndarray,
    thresholds: np.ndarray,
    classes: list[str],
    resamples: np.ndarray,
) -> tuple[dict, np.ndarray]:
    """All test metrics of one model, and its AUC per bootstrap resample and scoreable class (for paired
    comparisons); `thresholds` are the model's own, tuned on the validation split when it was trained.
    `resamples` (R, n) are shared by every model (metrics.bootstrap_indices)."""
    decision = p_test >= thresholds
    per = M.binary_scores(y_test, decision)
    aucs = M.per_class_auc(y_test, p_test)
    boot = M.resampled_aucs(y_test, p_test, resamples)
    low, high = M.percentile_interval(boot.mean(axis=1) if boot.shape[1] else np.zeros(0))
    f_max, f_max_t = M.fmax(y_test, p_test)
    result = {
        "macro_auc": M.macro_auc(y_test, p_test),
        "macro_auc_ci95_low": low,
        "macro_auc_ci95_high": high,
        "classes_in_macro_auc": int(M.scoreable(y_test).sum()),
        "fmax": f_max,
        "fmax_threshold": f_max_t,
        "subset_accuracy": M.subset_accuracy(y_test, decision),
        "macro": {k: float(np.mean(per[k])) for k in ("precision", "recall", "f1", "accuracy", "balanced_accuracy")},
        "per_class": {
            c: {
                "auc": _num(aucs[i]),
                "threshold": float(thresholds[i]),
                "support": int(y_test[:, i].sum()),
                **{k: float(per[k][i]) for k in PER_CLASS_RATES},
                **{k: int(per[k][i]) for k in ("tp", "fp", "fn", "tn")},
            }
            for i, c in enumerate(classes)
        },
        "test_records": int(y_test.shape[0]),
    }
    return result, boot


PER_CLASS_RATES = ("precision", "recall", "f1", "accuracy", "balanced_accuracy", "majority_accuracy")


def paired_differences(
    name: str, results: dict[str, dict], boots: dict[str, np.ndarray], classes: list[str], y_test: np.ndarray
) -> dict[str, dict]:
    """Model `name` minus every other model in test macro AUC and per class, on the same resamples."""
    cols = [c for c, ok in zip(classes, M.scoreable(y_test)) if ok]
    out = {}
    for other in results:
        if other == name:
            continue
        a, b = boots[name], boots[other]
        out[other] = {
            "macro_auc": M.paired_difference(
                results[name]["macro_auc"], results[other]["macro_auc"], a.mean(axis=1), b.mean(axis=1)
            ),
            "per_class_auc": {
                c: M.paired_difference(
                    results[name]["per_class"][c]["auc"], results[other]["per_class"][c]["auc"], a[:, j], b[:, j]
                )
                for j, c in enumerate(cols)
            },
        }
    return out


def compact(result: dict, val_auc: float) -> dict:
    """The few figures people compare across runs, one row per model in `dvc metrics show` (fits 120 columns):
    test macro AUC and its 95% bootstrap interval, Fmax, macro F1, subset accuracy (every class right) and macro
    balanced accuracy (mean of sensitivity and specificity) at the validation-tuned
    thresholds, the test size, and the validation macro AUC of the kept epoch (the selection criterion).

    Figures are rounded to 4 decimals (a tenth of what a bootstrap interval on the sample can resolve); per-class
    figures, thresholds, confusion counts, every paired difference and full precision stay in the detail file.
    """
    return _rounded(
        {
            "auc": result["macro_auc"],
            "auc_lo": result["macro_auc_ci95_low"],
            "auc_hi": result["macro_auc_ci95_high"],
            "fmax": result["fmax"],
            "f1": result["macro"]["f1"],
            "subset_acc": result["subset_accuracy"],
            "bal_acc": result["macro"]["balanced_accuracy"],
            "n_test": result["test_records"],
            "val_auc": val_auc,
        }
    )


def compact_difference(difference: dict, n_test: int) -> dict:
    """A paired difference as one more row of `dvc metrics show` with the same columns: `auc` is the difference
    in test macro AUC, `auc_lo`..`auc_hi` its 95% interval, `p_le0` the share of resamples where it is <= 0."""
    return _rounded(
        {
            "auc": difference["diff"],
            "auc_lo": difference["ci95_low"],
            "auc_hi": difference["ci95_high"],
            "p_le0": difference["share_le_0"],
            "n_test": n_test,
        }
    )


def _rounded(figures: dict) -> dict:
    return {k: _num(round(v, 4)) if isinstance(v, float) else v for k, v in figures.items()}


def json_ready(value: object) -> object:
    """A copy with every non-finite float as None (JSON null: not computed, e.g. intervals without resamples)."""
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, float):
        return _num(value)
    return value


def _num(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def curve_rows(y: np.ndarray, probs: dict[str, np.ndarray], c: int) -> tuple[list[dict], list[dict]]:
    """Exact ROC and precision-recall points of every model for class c, one row per point, for `dvc plots`."""
    roc, pr = [], []
    for name, p in probs.items():
        if 0 < y[:, c].sum() < len(y):
            fpr, tpr, _ = roc_curve(y[:, c], p[:, c])
            roc += [
                {"model": name, "order": i, "fpr": round(float(a), 6), "tpr": round(float(b), 6)}
                for i, (a, b) in enumerate(zip(fpr, tpr))
            ]
        if y[:, c].sum() > 0:
            precision, recall, _ = precision_recall_curve(y[:, c], p[:, c])
            pr += [
                {"model": name, "order": i, "recall": round(float(r), 6), "precision": round(float(q), 6)}
                for i, (r, q) in enumerate(zip(recall[::-1], precision[::-1]))
            ]
    return roc, pr


def confusion_rows(y: np.ndarray, decision: np.ndarray, classes: list[str]) -> list[dict]:
    """One row per (record, class): the class, and whether it is actually present and predicted ("yes"/"no"),
    for the per-class 2x2 confusion template (.dvc/plots/confusion_by_class.json)."""
    rows = []
    for i, c in enumerate(classes):
        for actual, predicted in zip(y[:, i].astype(bool), decision[:, i].astype(bool)):
            rows.append({"class": c, "actual": "yes" if actual else "no", "predicted": "yes" if predicted else "no"})
    return rows
