"""predict --explain: one record's explanation (report.attributions) over all its scored windows, as numbers
for the JSON output, a figure, and a line for the terminal."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ptbxl_multimodal.report.attributions import explain, top_evidence
from ptbxl_multimodal.report.ecg_figure import ecg_figure


def explain_record(
    fusion: torch.nn.Module,
    inputs: dict[str, np.ndarray],
    fs: float,
    windows_s: list[float],
    probabilities: dict[str, float],
    figure: Path,
    title: str,
) -> dict:
    """Explain one record whose windows (starting at `windows_s` seconds) are the rows of `inputs`, draw it for
    the class the fusion finds most probable (`probabilities`) into `figure`; return the JSON numbers.

    Windows are explained one by one and stitched (report.attributions.explain).
    """
    classes = list(probabilities)
    explanation = explain(fusion, inputs, fs, [int(round(s * fs)) for s in windows_s], len(classes))
    shown = max(classes, key=lambda c: probabilities[c])
    ecg_figure(figure, explanation, classes.index(shown), f"{title}: {shown} (fusion p = {probabilities[shown]:.3f})")
    return {**explanation.to_dict(classes), "figure": str(figure), "figure_class": shown}


def evidence_line(explanation: dict) -> str:
    """One line: for the class drawn, the leads and the second carrying most attribution, and the branches."""
    shown = explanation["figure_class"]
    leads, second, share, branches = top_evidence(explanation["per_class"][shown])
    return (
        f"{shown}: leads {leads}; seconds {second}-{second + 1} {share:.0%}; branch logits {branches} "
        f"({explanation['figure']})"
    )
