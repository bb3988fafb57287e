"""Signal quality: records that carry no usable ECG (flat or near-constant leads, dropouts, saturation).

A flat line is a valid WFDB record, but a model fed one still answers (an all-zero record was predicted
'CD'). The checks run on the raw signal in mV, before filtering. Their thresholds sit well outside what the
real PTB-XL sample shows (its quietest lead spans 0.2 mV, its longest run of identical samples is 0.33 s,
at most 1.3% of a lead's samples sit at its extreme), so they flag broken recordings, not quiet ones.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from ptbxl_multimodal.config.schema import Float, settings


@settings
class QualitySettings:
    """params.yaml `preprocess.quality`: what counts as unusable, and what preprocess does with such records."""

    action: Literal["skip", "error", "keep"]  # skip and list in report.json | stop | keep and list
    min_amplitude_mv: Annotated[Float, Field(ge=0)]  # a lead spanning less than this is flat
    max_flat_seconds: Annotated[Float, Field(gt=0)]  # a run of identical samples longer than this is a dropout
    max_clipped_fraction: Annotated[Float, Field(gt=0, le=1)]  # more of a lead's samples at its extreme: saturated

    def to_attrs(self) -> dict:
        """HDF5 attributes (read back by `from_attrs`); predict applies the same thresholds."""
        return {"quality": asdict(self)}

    @classmethod
    def from_attrs(cls, attrs: dict) -> QualitySettings | None:
        return cls(**attrs["quality"]) if "quality" in attrs else None


def longest_constant_runs(x: np.ndarray) -> np.ndarray:
    """Per row of x (leads, T): the length of its longest run of identical consecutive samples (all leads at once)."""
    n_leads, n = x.shape
    change = np.ones((n_leads, n + 1), dtype=bool)  # a run boundary before sample 0 and after sample T-1
    change[:, 1:-1] = x[:, 1:] != x[:, :-1]
    cols = np.nonzero(change)[1]  # row-major: each row's boundaries 0 .. T in order
    runs = np.diff(cols, prepend=0)  # negative where a new row starts
    return np.maximum.reduceat(np.maximum(runs, 0), np.flatnonzero(cols == 0))


def quality_problems(x: np.ndarray, fs: float, settings: QualitySettings, leads: tuple[str, ...]) -> list[str]:
    """What makes a record (12, T) in mV unusable, one phrase per problem (empty: usable)."""
    problems = []
    span = np.ptp(x, axis=1)
    flat_s = longest_constant_runs(x) / fs
    at_top = np.count_nonzero(x == x.max(axis=1, keepdims=True), axis=1)
    at_bottom = np.count_nonzero(x == x.min(axis=1, keepdims=True), axis=1)
    at_rail = np.maximum(at_top, at_bottom) / x.shape[1]
    for name, amplitude, run, clipped in zip(leads, span, flat_s, at_rail):
        if amplitude < settings.min_amplitude_mv:
            problems.append(f"lead {name} is flat (spans {amplitude:.3f} mV)")
            continue
        if run > settings.max_flat_seconds:
            problems.append(f"lead {name} is constant for {run:.1f} s (a dropout)")
        if clipped > settings.max_clipped_fraction:
            problems.append(f"lead {name} is clipped ({clipped:.0%} of samples at its extreme)")
    return problems
