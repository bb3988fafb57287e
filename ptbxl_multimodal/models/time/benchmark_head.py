"""What the PTB-XL benchmark's models share (helme/ecg_ptbxl_benchmarking, Strodthoff et al. 2020): the pooling
head of its `create_head1d` with the settings every model there was trained with (`lin_ftrs_head=[128]`,
`ps_head=0.5`), and its `weight_init`.

The head is max and average pooling over time (concatenated), then BN -> dropout(0.25) -> linear(128) -> ReLU ->
BN -> dropout(0.5) -> linear(classes). Here everything before the last linear layer is the branch's embedding
(128 wide), and that last layer is BranchModel's `head`, so the reference models fuse like any other branch.
"""

from __future__ import annotations

import torch
from torch import nn

EMBEDDING_DIM = 128  # lin_ftrs_head
DROPOUT = 0.5  # ps_head: the last layer's dropout; the first one gets half


class PoolingEmbedding(nn.Module):
    """Feature maps (B, C, T) -> embedding (B, 128): the benchmark's head less its last linear layer."""

    def __init__(self, channels: int):
        super().__init__()
        self.layers = nn.Sequential(
            nn.BatchNorm1d(2 * channels),
            nn.Dropout(DROPOUT / 2),
            nn.Linear(2 * channels, EMBEDDING_DIM),
            nn.ReLU(inplace=True),
            nn.BatchNorm1d(EMBEDDING_DIM),
            nn.Dropout(DROPOUT),
        )

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.layers(torch.cat([h.amax(dim=-1), h.mean(dim=-1)], dim=1))


def benchmark_init(module: nn.Module) -> None:
    """The benchmark's `weight_init`, applied to every layer: Kaiming-normal convolutions and linear layers with
    zero biases, batch norms at weight 1 and bias 0."""
    for m in module.modules():
        if isinstance(m, nn.Conv1d | nn.Linear):
            nn.init.kaiming_normal_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm1d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
