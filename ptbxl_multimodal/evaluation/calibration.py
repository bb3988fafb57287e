"""Do the probabilities mean what they say? Post-hoc calibration fitted on the validation split, and the
figures that measure it (Brier score, expected calibration error, reliability curve), per class.

Calibration maps each class's logit z to sigmoid(scale * z + bias): `temperature` fits the scale alone (1/T),
`platt` fits both (Platt scaling, which also undoes the shift that class weighting or oversampling puts into
the logits). The scale is kept positive, so the order of the records, and with it every AUC, is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, log_expit

from ptbxl_multimodal.evaluation.metrics import percentile_interval

METHODS = ("none", "temperature", "platt")
SCALE_BOUNDS = (1e-2, 1e2)


@dataclass(frozen=True)
class Calibration:
    """Per class: probability = sigmoid(scale * logit + bias)."""

    method: str
    scale: np.ndarray  # (C,)
    bias: np.ndarray  # (C,)

    @classmethod
    def identity(cls, n_classes: int) -> Calibration:
        return cls("none", np.ones(n_classes), np.zeros(n_classes))

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        return expit(np.asarray(logits, np.float64) * self.scale + self.bias)

    def to_dict(self) -> dict[str, Any]:
        """Plain lists for a checkpoint (loadable with torch.load(weights_only=True))."""
        return {"method": self.method, "scale": self.scale.tolist(), "bias": self.bias.tolist()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Calibration:
        return cls(d["method"], np.asarray(d["scale"], np.float64), np.asarray(d["bias"], np.float64))


def fit(y: np.ndarray, logits: np.ndarray, method: str) -> Calibration:
    """Fit `method` per class by minimising the binary cross-entropy on (y, logits); a class without both
    labels among the records keeps the identity (nothing to fit)."""
    n_classes = y.shape[1]
    cal = Calibration.identity(n_classes)
    if method == "none":
        return cal
    if method not in METHODS:
        raise ValueError(f"calibration method {method!r}: expected one of {', '.join(METHODS)}")
    scale, bias = cal.scale.copy(), cal.bias.copy()
    for c in range(n_classes):
        if 0 < y[:, c].sum() < len(y):
            scale[c], bias[c] = _fit_class(y[:, c].astype(np.float64), logits[:, c].astype(np.float64), method)
    return Calibration(method, scale, bias)


def _fit_class(y: np.ndarray, z: np.ndarray, method: str) -> tuple[float, float]:
    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        a, b = theta[0], theta[1] if method == "platt" else 0.0
        s = a * z + b
        value = -np.mean(y * log_expit(s) + (1 - y) * log_expit(-s))
        g = expit(s) - y  # d loss / d s, per record
        grad = np.array([np.mean(g * z), np.mean(g)])
        return float(value), grad if method == "platt" else grad[:1]

    start = np.array([1.0, 0.0] if method == "platt" else [1.0])
    bounds = [SCALE_BOUNDS, (None, None)] if method == "platt" else [SCALE_BOUNDS]
    theta = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds).x
    return float(theta[0]), float(theta[1]) if method == "platt" else 0.0


def brier(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Brier score per class: mean squared difference between probability and outcome (0 is perfect)."""
    return np.mean((p - y) ** 2, axis=0)


def bin_of(p: np.ndarray, bins: int) -> np.ndarray:
    """The equal-width bin (0..bins-1) of each probability."""
    return np.minimum((p * bins).astype(int), bins - 1)


def binned(y: np.ndarray, p: np.ndarray, bins: int) -> list[list[tuple[float, float, int]]]:
    """Per class, per non-empty equal-width bin in order: (mean probability, observed frequency, records), the
    points of a reliability diagram and the terms of the ECE."""
    out = []
    for c in range(y.shape[1]):
        b = bin_of(p[:, c], bins)
        out.append([(p[b == k, c].mean(), y[b == k, c].mean(), int((b == k).sum())) for k in np.unique(b)])
    return out


def ece(y: np.ndarray, p: np.ndarray, bins: int) -> np.ndarray:
    """Expected calibration error per class: over equal-width probability bins, the record-weighted mean
    |mean probability - observed frequency|."""
    return np.array([sum(n * abs(pred - obs) for pred, obs, n in cls) / len(y) for cls in binned(y, p, bins)])


def reliability_rows(y: np.ndarray, p: np.ndarray, bins: int, model: str, classes: list[str]) -> list[dict]:
    """Per class and non-empty bin: the mean probability, the observed frequency and the record count (the
    points of a reliability diagram; a calibrated model lies on the diagonal)."""
    return [
        {
            "model": model,
            "class": name,
            "predicted": round(float(pred), 6),
            "observed": round(float(obs), 6),
            "records": n,
        }  # fmt: skip
        for name, cls in zip(classes, binned(y, p, bins))
        for pred, obs, n in cls
    ]


def paired_change(per_record: np.ndarray, resamples: np.ndarray) -> tuple[float, float, float]:
    """The mean of a per-record difference and its 95% percentile interval over the shared bootstrap resamples."""
    boot = per_record[resamples].mean(axis=1) if len(resamples) else np.zeros(0)
    return (float(per_record.mean()), *percentile_interval(boot))


def figures(
    y: np.ndarray, uncalibrated: np.ndarray, calibrated: np.ndarray, bins: int, method: str, classes: list[str],
    resamples: np.ndarray,
) -> dict[str, Any]:  # fmt: skip
    """Brier score and ECE per class and macro, before and after the model's calibration, with the paired
    change in macro Brier score (after minus before: negative is better) on the shared bootstrap resamples."""
    b0, b1 = brier(y, uncalibrated), brier(y, calibrated)
    e0, e1 = ece(y, uncalibrated, bins), ece(y, calibrated, bins)
    per_record = ((calibrated - y) ** 2 - (uncalibrated - y) ** 2).mean(axis=1)  # macro over classes
    diff, low, high = paired_change(per_record, resamples)
    return {
        "method": method,
        "bins": bins,
        "brier": float(b1.mean()),
        "brier_uncalibrated": float(b0.mean()),
        "ece": float(e1.mean()),
        "ece_uncalibrated": float(e0.mean()),
        "brier_change": {"diff": diff, "ci95_low": low, "ci95_high": high},
        "per_class": {
            c: {
                "brier": float(b1[i]),
                "brier_uncalibrated": float(b0[i]),
                "ece": float(e1[i]),
                "ece_uncalibrated": float(e0[i]),
            }  # fmt: skip
            for i, c in enumerate(classes)
        },
    }
