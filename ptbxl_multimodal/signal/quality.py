"""Signal quality: records that carry no usable ECG (flat or near-constant leads, dropouts, saturation).

A flat line is a valid WFDB record, but a model fed one still answers (an all-zero record was predicted
'CD'). The checks run on the raw signal in mV, before filtering. Their thresholds sit well outside what the
real PTB-XL sample shows (its quietest lead spans 0.2 mV, its longest run of identical samples is 0.33 s,
at most 1.3% of a lead's samples sit at its extreme), so they flag broken recordings, not quiet ones.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np

from ptbxl_multimodal.schema import setting


@dataclass(frozen=True)
class QualitySettings:
    """params.yaml `preprocess.quality`: what counts as unusable, and what preprocess does with such records."""

    action: Literal["skip", "error", "keep"]  # skip and list in report.json | stop | keep and list
    min_amplitude_mv: float = setting(ge=0)  # a lead spanning less than this is flat
    max_flat_seconds: float = setting(gt=0)  # a run of identical samples longer than this is a dropout
    max_clipped_fraction: float = setting(gt=0, le=1)  # more of a lead's samples at its extreme: saturated

    def to_attrs(self) -> dict:
        """HDF5 attributes (read back by `from_attrs`); predict applies the same thresholds."""
        return {"quality": asdict(self)}

    @classmethod
    def from_attrs(cls, attrs: dict) -> QualitySettings | None:
        return cls(**attrs["quality"]) if "quality" in attrs else None


def _longest_constant_run(lead: np.ndarray) -> int:
    """Length of the longest run of identical consecutive samples."""
    edges = np.flatnonzero(np.diff(lead) != 0)
    bounds = np.concatenate(([-1], edges, [lead.size - 1]))
    return int(np.diff(bounds).max())


def quality_problems(x: np.ndarray, fs: float, settings: QualitySettings, leads: tuple[str, ...]) -> list[str]:
    """What makes a record (12, T) in mV unusable, one phrase per problem (empty: usable)."""
    problems = []
    span = np.ptp(x, axis=1)
    for name, lead, amplitude in zip(leads, x, span):
        if amplitude < settings.min_amplitude_mv:
            problems.append(f"lead {name} is flat (spans {amplitude:.3f} mV)")
            continue
        run = _longest_constant_run(lead) / fs
        if run > settings.max_flat_seconds:
            problems.append(f"lead {name} is constant for {run:.1f} s (a dropout)")
        at_rail = max(np.count_nonzero(lead == lead.max()), np.count_nonzero(lead == lead.min())) / lead.size
        if at_rail > settings.max_clipped_fraction:
            problems.append(f"lead {name} is clipped ({at_rail:.0%} of samples at its extreme)")
    return problems
