"""The run report's evidence part: for each class, the test record the fusion finds most probable among those
that have it, explained (report.attributions) and drawn (report.ecg_figure)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ptbxl_multimodal.report.attributions import Explanation, explain, top_evidence
from ptbxl_multimodal.report.ecg_figure import ecg_figure


@dataclass
class Example:
    """One explained test record: the class it illustrates, its ecg_id and fusion probability."""

    label: str
    ecg_id: int
    probability: float
    explanation: Explanation


def explain_examples(
    fusion: torch.nn.Module,
    inputs: dict[str, np.ndarray],
    y: np.ndarray,
    probs: np.ndarray,
    ecg_id: np.ndarray,
    classes: list[str],
    fs: float,
) -> list[Example]:
    """Per class with a positive test record: the positive record with the highest fusion probability, explained
    (nothing when the fusion does not use the time branch)."""
    if "time" not in getattr(fusion, "order", []):
        return []
    examples = []
    for c, label in enumerate(classes):
        positives = np.flatnonzero(y[:, c] == 1)
        if not positives.size:
            continue
        row = int(positives[np.argmax(probs[positives, c])])
        explanation = explain(fusion, {n: v[row : row + 1] for n, v in inputs.items()}, fs, [0], len(classes))
        examples.append(Example(label, int(ecg_id[row]), float(probs[row, c]), explanation))
    return examples


def explain_section(figures: Path, examples: list[Example], classes: list[str]) -> list[str]:
    """Markdown (and a figure per example): the leads and branches behind each example's call."""
    if not examples:
        return []
    rows, images = [], []
    for ex in examples:
        c = classes.index(ex.label)
        name = f"explain_{ex.label}.png"
        ecg_figure(
            figures / name, ex.explanation, c, f"ecg_id {ex.ecg_id}: {ex.label} (fusion p = {ex.probability:.3f})"
        )
        leads, second, share, branches = top_evidence(ex.explanation.to_dict(classes)["per_class"][ex.label])
        rows.append(
            f"| {ex.label} | {ex.ecg_id} | {ex.probability:.3f} | {leads} | {second}-{second + 1} s ({share:.0%}) "
            f"| {branches} |"
        )
        images += [f"![{ex.label}](figures/{name})", ""]
    return [
        "## Evidence for a few calls",
        "",
        "For each class, the test record the fusion finds most probable among those that have it. Leads and "
        "seconds: shares of the time branch's absolute attribution for that class (integrated gradients, captum); "
        "branches: each branch's contribution to the fused class logit. The figures shade the ECG where the "
        "attribution is large.",
        "",
        "| class | ecg_id | fusion p | top leads | top second | branch logits |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
        *images,
    ]
