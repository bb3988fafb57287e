"""`spec` branch: a 2D CNN on per-lead spectrograms (leads as channels, frequency x time as the image)."""

from __future__ import annotations

import torch
from torch import nn

from .base import BranchModel, avg_max_pool, embedding_mlp


def conv_block(c_in: int, c_out: int, kernel_size: int) -> nn.Sequential:
    """Two conv-BN-ReLU layers, then 2x2 max pooling (ceil mode keeps small maps alive)."""
    pad = kernel_size // 2
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel_size, padding=pad, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
        nn.Conv2d(c_out, c_out, kernel_size, padding=pad, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2, ceil_mode=True),
    )


class SpecCNN(BranchModel):
    """One conv block per entry of `channels`, then global avg+max pooling.

    With `train_crop` < 1, training sees random runs of that fraction of the frames (augmentation).
    """

    def __init__(
        self,
        input_shape: tuple[int, int, int],
        n_classes: int,
        channels: list[int],
        kernel_size: int,
        embedding_dim: int,
        dropout: float,
        train_crop: float,
    ):
        leads, n_freq, n_frames = input_shape
        super().__init__(input_shape, (leads, n_freq, 1), embedding_dim, n_classes)
        self.set_train_crop(train_crop, n_frames)
        blocks, c_in = [], leads
        for c_out in channels:
            blocks.append(conv_block(c_in, c_out, kernel_size))
            c_in = c_out
        self.features = nn.Sequential(*blocks)
        self.project = embedding_mlp(2 * c_in, embedding_dim, dropout)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        h = self.features(self.normalize(self.crop_for_training(x))).flatten(2)
        return self.project(avg_max_pool(h))
