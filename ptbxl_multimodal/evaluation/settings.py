"""params.yaml `evaluate`, in a module of its own so the whole-file params check does not depend on (and rerun
for) the evaluation code."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from ptbxl_multimodal.config.schema import Int, settings


@settings
class EvaluateSettings:
    """params.yaml `evaluate`."""

    bootstrap: Annotated[Int, Field(ge=0)]  # resamples for the 95% confidence interval of macro AUC
    seed: Annotated[Int, Field(ge=0)]
    batch_size: Annotated[Int, Field(ge=1)]
    calibration_bins: Annotated[Int, Field(ge=2)]  # equal-width probability bins of ECE and the reliability curves
