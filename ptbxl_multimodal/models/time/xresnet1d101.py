"""`xresnet1d101`: the PTB-XL benchmark's xResNet (macro AUC 0.928 on superdiagnostic fold 10), the "bag of
tricks" ResNet-101 of He et al. (2019) in 1D, as the benchmark builds it (code/models/xresnet1d.py there:
`xresnet1d101` with `kernel_size=5`).

Stem: three conv(k=5) -> BN -> ReLU layers of 32, 32 and 64 channels (the first strides by 2), then max pooling
(3, stride 2). Four stages of 3, 4, 23 and 3 bottleneck blocks, 64 wide inside and 256 outside: conv1x1 ->
conv(k=5, stride) -> conv1x1, each with BN (no ReLU after the last), and a shortcut that average-pools (2, ceil)
where the block strides and projects (1x1 conv + BN) where the width changes; stages 2-4 halve the length. Then
the benchmark's pooling head. About 1.87 M parameters. fastai starts the last BN of a block at zero, but the
benchmark's `weight_init` (applied to every model it trains from scratch) resets every BN to 1, as here.
"""

from __future__ import annotations

import torch
from torch import nn

from ptbxl_multimodal.models.base import BranchModel
from ptbxl_multimodal.models.time.benchmark_head import EMBEDDING_DIM, PoolingEmbedding, benchmark_init

KERNEL = 5
STEM = (32, 32, 64)
BLOCKS = (3, 4, 23, 3)
WIDTH = 64  # inside a bottleneck
EXPANSION = 4  # outside: 256


def conv_bn(c_in: int, c_out: int, kernel: int, stride: int = 1, relu: bool = True) -> nn.Sequential:
    """conv (no bias) -> BN (-> ReLU): fastai's ConvLayer with its BN first."""
    layers: list[nn.Module] = [
        nn.Conv1d(c_in, c_out, kernel, stride=stride, padding=(kernel - 1) // 2, bias=False),
        nn.BatchNorm1d(c_out),
    ]
    return nn.Sequential(*layers, nn.ReLU(inplace=True)) if relu else nn.Sequential(*layers)


class Bottleneck(nn.Module):
    """xResNet's bottleneck: 1x1 -> k x 1 (strided) -> 1x1 with a pooled and projected shortcut."""

    def __init__(self, c_in: int, stride: int):
        super().__init__()
        c_out = WIDTH * EXPANSION
        self.body = nn.Sequential(
            conv_bn(c_in, WIDTH, 1), conv_bn(WIDTH, WIDTH, KERNEL, stride), conv_bn(WIDTH, c_out, 1, relu=False)
        )
        shortcut: list[nn.Module] = []
        if stride != 1:
            shortcut.append(nn.AvgPool1d(2, ceil_mode=True))
        if c_in != c_out:
            shortcut.append(conv_bn(c_in, c_out, 1, relu=False))
        self.shortcut = nn.Sequential(*shortcut)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.shortcut(x))


class XResNet1d101(BranchModel):
    """The benchmark's `xresnet1d101` on (leads, T) input, fully convolutional."""

    def __init__(self, input_shape: tuple[int, int], n_classes: int):
        leads = input_shape[0]
        super().__init__(input_shape, (leads, 1), EMBEDDING_DIM, n_classes)
        sizes = (leads, *STEM)
        layers: list[nn.Module] = [
            conv_bn(sizes[i], sizes[i + 1], KERNEL, stride=2 if i == 0 else 1) for i in range(len(STEM))
        ]
        layers.append(nn.MaxPool1d(3, stride=2, padding=1))
        c_in = STEM[-1]
        for stage, n_blocks in enumerate(BLOCKS):
            for block in range(n_blocks):
                layers.append(Bottleneck(c_in, stride=2 if stage > 0 and block == 0 else 1))
                c_in = WIDTH * EXPANSION
        self.features = nn.Sequential(*layers)
        self.pool = PoolingEmbedding(c_in)
        benchmark_init(self)  # as the benchmark's training does, after fastai's own initialisation

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.features(self.normalize(self.crop_for_training(x))))
