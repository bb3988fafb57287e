"""The evidence for a call: which leads and which seconds of the ECG drove the time branch's logit, and how
much each branch added to the fusion's logit for that record.

Attributions of the time branch are Captum's integrated gradients (Sundararajan et al., 2017) against a flat
0 mV signal: they add up to the logit's change from a flat line to the record (completeness), need no
sampling, and are exact at zero where a lead is flat. Branch contributions of the stacked fusion are exact:
weight x branch logit per class. For an embedding head they are Captum's feature ablation: how much the
class logit drops when that branch's embedding is hidden (zeroed), as branch dropout hides it in training.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ptbxl_multimodal.data.records import LEADS
from ptbxl_multimodal.fusion.heads import FusionModel, as_fusion
from ptbxl_multimodal.fusion.stacked import StackedFusion

IG_STEPS = 32  # Riemann steps of the path integral; the completeness gap is checked in the tests
WINDOW_S = 1.0  # width of the time windows attributions are summed over


@dataclass
class Explanation:
    """One record: signed attributions per class, lead and sample (C, 12, T) of its time-branch input (at the
    model's rate), that input (12, T), and each branch's contribution to each class logit of the fusion."""

    attribution: np.ndarray
    signal: np.ndarray
    fs: float
    branches: dict[str, np.ndarray]  # branch -> (C,) logit contribution

    def lead_shares(self) -> np.ndarray:
        """(C, 12): each lead's share of the total absolute attribution of a class."""
        mass = np.abs(self.attribution).sum(axis=2)
        return mass / np.maximum(mass.sum(axis=1, keepdims=True), 1e-12)

    def window_shares(self) -> np.ndarray:
        """(C, W): each WINDOW_S window's share of the total absolute attribution of a class (all leads)."""
        per_sample = np.abs(self.attribution).sum(axis=1)
        width = int(round(WINDOW_S * self.fs))
        edges = np.arange(0, per_sample.shape[1], width)
        mass = np.add.reduceat(per_sample, edges, axis=1)
        return mass / np.maximum(mass.sum(axis=1, keepdims=True), 1e-12)

    def to_dict(self, classes: list[str]) -> dict[str, Any]:
        """Numbers for the JSON output, per class: lead shares, window shares, branch contributions."""
        leads, windows = self.lead_shares(), self.window_shares()
        return {
            "method": f"integrated gradients (captum, {IG_STEPS} steps, flat 0 mV baseline) on the time branch",
            "seconds_width": WINDOW_S,  # each entry of "seconds" sums this many seconds
            "per_class": {
                c: {
                    "leads": {lead: round(float(v), 4) for lead, v in zip(LEADS, leads[i])},
                    "seconds": [round(float(v), 4) for v in windows[i]],
                    "branch_logits": {b: round(float(v[i]), 4) for b, v in self.branches.items()},
                }
                for i, c in enumerate(classes)
            },
        }


def time_attributions(time_model: torch.nn.Module, x: np.ndarray, n_classes: int) -> np.ndarray:
    """Integrated gradients of every class logit of `time_model` for a batch of time inputs (n, 12, T) against
    a flat 0 mV baseline: (n, C, 12, T)."""
    from captum.attr import IntegratedGradients  # 1.6 s to import: only when something is explained

    time_model = time_model.eval()
    ig = IntegratedGradients(time_model)
    inputs = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    out = np.empty((len(x), n_classes, *x.shape[1:]), np.float32)
    for c in range(n_classes):
        attr = ig.attribute(inputs, baselines=torch.zeros_like(inputs), target=c, n_steps=IG_STEPS)
        out[:, c] = attr.detach().numpy()
    return out


@torch.no_grad()
def _stack_contributions(model: StackedFusion, inputs: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
    return {name: (model.branches[name](inputs[name]) * model.weights[b]).numpy() for b, name in enumerate(model.order)}


def _head_contributions(model: FusionModel, inputs: dict[str, torch.Tensor], n_classes: int) -> dict[str, np.ndarray]:
    from captum.attr import FeatureAblation

    with torch.no_grad():
        embeddings = tuple(model.embed(inputs))
    ablation = FeatureAblation(lambda *e: model.head(list(e)))
    masks = tuple(torch.full_like(e[:1], b, dtype=torch.long) for b, e in enumerate(embeddings))
    per_class = [ablation.attribute(embeddings, target=c, feature_mask=masks) for c in range(n_classes)]
    return {name: np.stack([a[b][:, 0].numpy() for a in per_class], axis=1) for b, name in enumerate(model.order)}


def branch_contributions(
    fusion: StackedFusion | FusionModel, inputs: dict[str, np.ndarray], n_classes: int
) -> dict[str, np.ndarray]:
    """Each branch's contribution to each class logit of the fusion, per record: branch -> (n, C)."""
    batch = {n: torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)) for n, x in inputs.items()}
    if isinstance(fusion, StackedFusion):
        return _stack_contributions(fusion.eval(), batch)
    return _head_contributions(fusion.eval(), batch, n_classes)


def explain(
    model: torch.nn.Module, inputs: dict[str, np.ndarray], fs: float, starts: list[int], n_classes: int
) -> Explanation:
    """One record's explanation from its windows (the rows of `inputs`, starting at sample `starts` of the
    time-branch input at `fs`): attributions of each window stitched, averaged where windows overlap; branch
    contributions averaged over the windows. Computed on the CPU."""
    fusion = as_fusion(model.cpu().eval())
    x = inputs["time"]
    attribution = time_attributions(fusion.branches["time"], x, n_classes)
    contributions = branch_contributions(fusion, inputs, n_classes)
    width, total = x.shape[-1], starts[-1] + x.shape[-1]
    summed, signal = np.zeros((n_classes, x.shape[1], total)), np.zeros((x.shape[1], total))
    count = np.zeros(total)
    for k, s in enumerate(starts):
        summed[..., s : s + width] += attribution[k]
        signal[:, s : s + width] += x[k]
        count[s : s + width] += 1
    return Explanation(summed / count, signal / count, fs, {b: c.mean(axis=0) for b, c in contributions.items()})


def top_evidence(per_class: dict[str, Any]) -> tuple[str, int, float, str]:
    """From one class of `Explanation.to_dict`: the three leads with most attribution (text), the second with
    most and its share, and the branch contributions (text); for predict's terminal line and the run report."""
    leads = sorted(per_class["leads"].items(), key=lambda kv: -kv[1])[:3]
    second = int(np.argmax(per_class["seconds"]))
    return (
        ", ".join(f"{lead} {share:.0%}" for lead, share in leads),
        second,
        per_class["seconds"][second],
        ", ".join(f"{b} {v:+.2f}" for b, v in per_class["branch_logits"].items()),
    )
