"""The stacked (late) fusion model: per class, a non-negative weighted sum of the branches' logits."""

from __future__ import annotations

import torch
from torch import nn


class BaggedBranch(nn.Module):
    """The mean logits of a branch's cross-fitting models (a bagged ensemble)."""

    def __init__(self, models: list[nn.Module]):
        super().__init__()
        self.members = nn.ModuleList(models)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([m(x) for m in self.members]).mean(dim=0)


class AlignedBranch(nn.Module):
    """A branch's deployed logits mapped per class onto its cross-fitting models' centre and spread: scale * z +
    offset (fusion.stacking.align_to_folds). The stack's weights were fitted on single fold-model logits; this
    makes the logits they are applied to the kind they were fitted on."""

    scale: torch.Tensor  # buffers, (C,)
    offset: torch.Tensor

    def __init__(self, model: nn.Module, scale: torch.Tensor, offset: torch.Tensor):
        super().__init__()
        self.model = model
        self.register_buffer("scale", scale.float())
        self.register_buffer("offset", offset.float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * self.model(x) + self.offset


class StackedFusion(nn.Module):
    """logit[c] = sum_b weights[b, c] * branch_b(x_b)[c] + intercept[c]; takes a dict branch -> input tensor.

    The weights are fitted on out-of-fold logits (fusion.stacking), not by gradient descent here.
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
