"""Patient metadata as the `meta` branch reads it, prepared by one function for training and predict alike."""

from __future__ import annotations

import numpy as np

COLUMNS = ("age", "sex", "height", "weight")  # years, 0 male / 1 female, cm, kg
AGE_CAP = 90.0  # PTB-XL stores ages above 89 as 300 (anonymisation); 90 is the lower bound of the true age
AGE_MARK = 300.0


def prepare_metadata(table: np.ndarray) -> np.ndarray:
    """float32 (n, 4) of age, sex, height, weight; PTB-XL's age mark 300 becomes 90, and a missing value (NaN)
    stays missing, so the model's missing-value indicator sees it."""
    out = np.array(table, dtype=np.float64, copy=True).reshape(-1, len(COLUMNS))
    age = out[:, 0]
    out[:, 0] = np.where(age >= AGE_MARK, AGE_CAP, age)  # NaN >= 300 is False: NaN stays NaN
    return out.astype(np.float32)
