"""predict --explain: one record's explanation (evaluation.attributions) over all its scored windows, as numbers
for the JSON output, a figure, and a line for the terminal."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ptbxl_multimodal.evaluation.attributions import Explanation, branch_contributions, time_attributions
from ptbxl_multimodal.evaluation.ecg_figure import ecg_figure


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

    Windows are explained one by one and stitched: where they overlap, attributions are averaged; branch
    contributions are averaged over the windows. Attributions are computed on the CPU.
    """
    classes = list(probabilities)
    fusion = fusion.cpu()
    x = inputs["time"]
    attribution = time_attributions(fusion.branches["time"], x, len(classes))
    contributions = branch_contributions(fusion, inputs, len(classes))
    starts = [int(round(s * fs)) for s in windows_s]
    width, total = x.shape[-1], starts[-1] + x.shape[-1]
    summed, signal = np.zeros((len(classes), x.shape[1], total)), np.zeros((x.shape[1], total))
    count = np.zeros(total)
    for k, s in enumerate(starts):
        summed[..., s : s + width] += attribution[k]
        signal[:, s : s + width] += x[k]
        count[s : s + width] += 1
    explanation = Explanation(summed / count, signal / count, fs, {b: c.mean(axis=0) for b, c in contributions.items()})
    shown = max(classes, key=probabilities.get)
    ecg_figure(figure, explanation, classes.index(shown), f"{title}: {shown} (fusion p = {probabilities[shown]:.3f})")
    return {**explanation.to_dict(classes), "figure": str(figure), "figure_class": shown}


def evidence_line(explanation: dict) -> str:
    """One line: for the class drawn, the leads and the second carrying most attribution, and the branches."""
    shown = explanation["figure_class"]
    per = explanation["per_class"][shown]
    leads = sorted(per["leads"].items(), key=lambda kv: -kv[1])[:3]
    second = int(np.argmax(per["seconds"]))
    branches = ", ".join(f"{b} {v:+.2f}" for b, v in per["branch_logits"].items())
    lead_text = ", ".join(f"{lead} {share:.0%}" for lead, share in leads)
    return (
        f"{shown}: leads {lead_text}; seconds {second}-{second + 1} "
        f"{per['seconds'][second]:.0%}; branch logits {branches} ({explanation['figure']})"
    )
