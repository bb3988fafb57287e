"""params.yaml `evaluate`, in a module of its own so the whole-file params check does not depend on (and rerun
for) the evaluation code."""

from __future__ import annotations

from dataclasses import dataclass

from ptbxl_multimodal.schema import setting


@dataclass(frozen=True)
class EvaluateSettings:
    """params.yaml `evaluate`."""

    bootstrap: int = setting(ge=0)  # resamples for the 95% confidence interval of macro AUC
    seed: int = setting(ge=0)
    batch_size: int = setting(ge=1)
    calibration_bins: int = setting(ge=2)  # equal-width probability bins of ECE and the reliability curves
