"""What a trained model decides with, fitted on the validation split where it was selected: first its
calibration (evaluation.calibration), then per-class thresholds (max F1) on the calibrated probabilities.
Both are stored in its checkpoint, so evaluate and predict decide exactly as here."""

from __future__ import annotations

import numpy as np

from ptbxl_multimodal import checkpoints
from ptbxl_multimodal.evaluation import calibration
from ptbxl_multimodal.evaluation.metrics import tune_thresholds


def fit_decisions(ckpt: checkpoints.Checkpoint, y_val: np.ndarray, val_logits: np.ndarray, method: str) -> np.ndarray:
    """Store the calibration (`method`) and thresholds fitted on (y_val, val_logits) in `ckpt`; return the
    calibrated validation probabilities."""
    fitted = calibration.fit(y_val, val_logits, method)
    probs = fitted.probabilities(val_logits)
    ckpt.decisions.fitted(fitted, tune_thresholds(y_val, probs))
    return probs
