"""The stacked (late) fusion model: per class, a non-negative weighted sum of the branches' logits."""

from __future__ import annotations

import torch
from torch import nn


class BaggedBranch(nn.Module):
    """The mean logits of a branch's cross-fitting models (a bagged ensemble), optionally spread back out per class
    to one fold model's spread: center + scale * (mean - center). Averaging K models shrinks each branch's logits by
    its own amount; the stack's weights were fitted on single fold-model logits (training.stacking.match_spread)."""

    center: torch.Tensor  # buffers, (C,)
    scale: torch.Tensor

    def __init__(self, models: list[nn.Module], center: torch.Tensor | None = None, scale: torch.Tensor | None = None):
        super().__init__()
        self.members = nn.ModuleList(models)
        self.register_buffer("center", torch.zeros(()) if center is None else center.float())
        self.register_buffer("scale", torch.ones(()) if scale is None else scale.float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = torch.stack([m(x) for m in self.members]).mean(dim=0)
        return mean if self.scale.ndim == 0 else self.center + self.scale * (mean - self.center)


class StackedFusion(nn.Module):
    """logit[c] = sum_b weights[b, c] * branch_b(x_b)[c] + intercept[c]; takes a dict branch -> input tensor.

    The weights are fitted on out-of-fold logits (training.stacking), not by gradient descent here.
    """

    weights: torch.Tensor  # buffers
    intercept: torch.Tensor

    def __init__(self, branches: dict[str, nn.Module], weights: torch.Tensor, intercept: torch.Tensor):
        super().__init__()
        self.order = list(branches)
        self.branches = nn.ModuleDict(branches)
        self.register_buffer("weights", weights.float())  # (B, C)
        self.register_buffer("intercept", intercept.float())  # (C,)

    def forward(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        z = torch.stack([self.branches[name](inputs[name]) for name in self.order], dim=1)  # (n, B, C)
        return (z * self.weights).sum(dim=1) + self.intercept
