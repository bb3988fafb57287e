"""`time` branch: a residual 1D CNN on the filtered 12-lead signal (in the spirit of resnet1d / xresnet1d)."""

from __future__ import annotations

import torch
from torch import nn

from ptbxl_multimodal.models.base import BranchModel, avg_max_pool, embedding_mlp


class ResBlock1d(nn.Module):
    """conv-BN-ReLU-conv-BN with an identity (or 1x1 projection) shortcut."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int, stride: int):
        super().__init__()
        pad = kernel_size // 2
        self.body = nn.Sequential(
            nn.Conv1d(c_in, c_out, kernel_size, stride=stride, padding=pad, bias=False),
            nn.BatchNorm1d(c_out),
            nn.ReLU(inplace=True),
            nn.Conv1d(c_out, c_out, kernel_size, padding=pad, bias=False),
            nn.BatchNorm1d(c_out),
        )
        self.shortcut = (
            nn.Identity()
            if c_in == c_out and stride == 1
            else nn.Sequential(nn.Conv1d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm1d(c_out))
        )
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.shortcut(x))


class TimeCNN(BranchModel):
    """Stem conv, then one stage per entry of `channels` (each halves the length), then avg+max pooling; fully
    convolutional, so it reads any length (the benchmark protocol's crops and windows: models.time.architectures).
    """

    def __init__(
        self,
        input_shape: tuple[int, int],
        n_classes: int,
        channels: list[int],
        blocks_per_stage: int,
        kernel_size: int,
        embedding_dim: int,
        dropout: float,
    ):
        leads = input_shape[0]
        super().__init__(input_shape, (leads, 1), embedding_dim, n_classes)
        layers: list[nn.Module] = [
            nn.Conv1d(leads, channels[0], kernel_size, padding=kernel_size // 2, bias=False),
            nn.BatchNorm1d(channels[0]),
            nn.ReLU(inplace=True),
        ]
        c_in = channels[0]
        for i, c_out in enumerate(channels):
            for j in range(blocks_per_stage):
                layers.append(ResBlock1d(c_in, c_out, kernel_size, stride=2 if (i > 0 and j == 0) else 1))
                c_in = c_out
        self.features = nn.Sequential(*layers)
        self.project = embedding_mlp(2 * c_in, embedding_dim, dropout)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.project(avg_max_pool(self.features(self.normalize(self.crop_for_training(x)))))
