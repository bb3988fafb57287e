"""`inception1d`: the PTB-XL benchmark's InceptionTime (macro AUC 0.925 on superdiagnostic fold 10), after Fawaz
et al. (2020), as the benchmark builds it (code/models/inception1d.py there: `inception1d` with `kernel_size=40`,
i.e. 8 x its default 5).

Six inception blocks of 4 x 32 channels: a 1x1 bottleneck to 32 channels feeding convolutions of 39, 19 and 9
taps, beside max pooling (3, stride 1) and a 1x1 convolution of the block's input; the four concatenated, then BN
and ReLU. A residual shortcut (1x1 conv + BN, then ReLU) spans every three blocks. Then the benchmark's pooling
head. About 0.51 M parameters.
"""

from __future__ import annotations

import torch
from torch import nn

from ptbxl_multimodal.models.base import BranchModel
from ptbxl_multimodal.models.time.benchmark_head import EMBEDDING_DIM, PoolingEmbedding, benchmark_init

KERNELS = (39, 19, 9)  # 40, 20 and 10, made odd
FILTERS = 32  # per branch of a block
BOTTLENECK = 32
DEPTH = 6
RESIDUAL_EVERY = 3
WIDTH = (len(KERNELS) + 1) * FILTERS  # 128


def conv(c_in: int, c_out: int, kernel: int) -> nn.Conv1d:
    return nn.Conv1d(c_in, c_out, kernel, padding=(kernel - 1) // 2, bias=False)


class InceptionBlock(nn.Module):
    """Bottleneck -> three kernel sizes, beside max-pool -> 1x1; concatenated, BN, ReLU."""

    def __init__(self, c_in: int):
        super().__init__()
        self.bottleneck = conv(c_in, BOTTLENECK, 1)
        self.convs = nn.ModuleList(conv(BOTTLENECK, FILTERS, k) for k in KERNELS)
        self.pool_conv = nn.Sequential(nn.MaxPool1d(3, stride=1, padding=1), conv(c_in, FILTERS, 1))
        self.bn_relu = nn.Sequential(nn.BatchNorm1d(WIDTH), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bottled = self.bottleneck(x)
        return self.bn_relu(torch.cat([c(bottled) for c in self.convs] + [self.pool_conv(x)], dim=1))


class Shortcut(nn.Module):
    """ReLU(out + BN(1x1 conv(input))): the residual connection over three blocks."""

    def __init__(self, c_in: int):
        super().__init__()
        self.project = nn.Sequential(conv(c_in, WIDTH, 1), nn.BatchNorm1d(WIDTH))
        self.act = nn.ReLU(inplace=True)

    def forward(self, residual: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        return self.act(out + self.project(residual))


class Inception1d(BranchModel):
    """The benchmark's `inception1d` on (leads, T) input, fully convolutional."""

    def __init__(self, input_shape: tuple[int, int], n_classes: int):
        leads = input_shape[0]
        super().__init__(input_shape, (leads, 1), EMBEDDING_DIM, n_classes)
        self.blocks = nn.ModuleList(InceptionBlock(leads if d == 0 else WIDTH) for d in range(DEPTH))
        self.shortcuts = nn.ModuleList(Shortcut(leads if s == 0 else WIDTH) for s in range(DEPTH // RESIDUAL_EVERY))
        self.pool = PoolingEmbedding(WIDTH)
        benchmark_init(self)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        residual = x
        for d, block in enumerate(self.blocks):
            x = block(x)
            if d % RESIDUAL_EVERY == RESIDUAL_EVERY - 1:
                x = residual = self.shortcuts[d // RESIDUAL_EVERY](residual, x)
        return x

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.features(self.normalize(self.crop_for_training(x))))
