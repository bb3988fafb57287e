"""The fusion model: branch embeddings -> one multi-label prediction (concat, gated or attention fusion)."""

from __future__ import annotations

import typing

import torch
from torch import nn

from ptbxl_multimodal.fusion.stacked import StackedFusion
from ptbxl_multimodal.models.base import BranchModel


class FusionHead(nn.Module):
    """Combines a list of branch embeddings (one tensor per branch, in a fixed order) into class logits.

    - concat: concatenate, then an MLP.
    - gated: project each branch to `hidden`, weight them by a softmax gate computed from all of them.
    - attention: project each branch to a token and pool the tokens with a learned-query attention.
    `branch_dropout` hides whole branches at training time so the head cannot lean on one alone.
    """

    def __init__(
        self, embedding_dims: list[int], n_classes: int, method: str, hidden: int, dropout: float, branch_dropout: float
    ):
        super().__init__()
        self.method = method
        self.branch_dropout = branch_dropout
        n = len(embedding_dims)
        if method == "concat":
            fused_dim = sum(embedding_dims)
        else:
            self.projections = nn.ModuleList(nn.Linear(d, hidden) for d in embedding_dims)
            fused_dim = hidden
            if method == "gated":
                self.gate = nn.Linear(n * hidden, n)
            else:
                heads = 4 if hidden % 4 == 0 else 1
                self.branch_tokens = nn.Parameter(torch.zeros(1, n, hidden))
                self.query = nn.Parameter(torch.zeros(1, 1, hidden))
                nn.init.trunc_normal_(self.query, std=0.02)
                self.attention = nn.MultiheadAttention(hidden, heads, dropout=dropout, batch_first=True)
        self.mlp = nn.Sequential(
            nn.LayerNorm(fused_dim),
            nn.Dropout(dropout),
            nn.Linear(fused_dim, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden, n_classes),
        )

    def _drop_branches(self, embeddings: list[torch.Tensor]) -> list[torch.Tensor]:
        if not self.training or self.branch_dropout == 0 or len(embeddings) == 1:
            return embeddings
        batch = embeddings[0].shape[0]
        keep = torch.rand(batch, len(embeddings), device=embeddings[0].device) >= self.branch_dropout
        # never hide every branch of a sample
        keep[keep.sum(dim=1) == 0, 0] = True
        scale = 1.0 / (1.0 - self.branch_dropout)
        return [e * keep[:, i : i + 1].to(e.dtype) * scale for i, e in enumerate(embeddings)]

    def forward(self, embeddings: list[torch.Tensor]) -> torch.Tensor:
        embeddings = self._drop_branches(embeddings)
        if self.method == "concat":
            fused = torch.cat(embeddings, dim=1)
        else:
            tokens = torch.stack([p(e) for p, e in zip(self.projections, embeddings)], dim=1)  # (B, n, hidden)
            if self.method == "gated":
                weights = torch.softmax(self.gate(tokens.flatten(1)), dim=1)
                fused = (weights.unsqueeze(-1) * tokens).sum(dim=1)
            else:
                tokens = tokens + self.branch_tokens
                query = self.query.expand(tokens.shape[0], -1, -1)
                fused = self.attention(query, tokens, tokens, need_weights=False)[0].squeeze(1)
        return self.mlp(fused)


class FusionModel(nn.Module):
    """Branch models plus a fusion head; takes a dict branch -> input tensor.

    With `freeze_branches`, branch weights and batch-norm statistics stay fixed, but in training
    mode their dropout and input crops stay active: the head then learns from noisy, augmented
    embeddings rather than from the exact features the branches memorised on the training split.
    """

    def __init__(self, branches: dict[str, BranchModel], head: FusionHead, freeze_branches: bool = False):
        super().__init__()
        self.order = list(branches)
        self.branches = nn.ModuleDict(branches)
        self.head = head
        self.freeze_branches = freeze_branches
        if freeze_branches:
            self.branches.requires_grad_(False)

    def train(self, mode: bool = True) -> FusionModel:
        super().train(mode)
        if self.freeze_branches:
            for module in self.branches.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()
        return self

    def embed(self, inputs: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        return [typing.cast(BranchModel, self.branches[name]).embed(inputs[name]) for name in self.order]

    def forward(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.head(self.embed(inputs))


def as_fusion(model: nn.Module) -> StackedFusion | FusionModel:
    """`model` as one of the two fusion kinds (both have `order` and `branches`); TypeError for anything else."""
    if not isinstance(model, (StackedFusion, FusionModel)):
        raise TypeError(f"expected a fusion model (stack or embedding head), got {type(model).__name__}")
    return model
