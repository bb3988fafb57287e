"""`resnet1d_wang`: the PTB-XL benchmark's best model (macro AUC 0.930 on superdiagnostic fold 10), the 1D ResNet
of Wang et al. (2017) as the benchmark builds it (code/models/resnet1d.py there: `resnet1d_wang` with
`kernel_size=5`).

Stem: conv(k=7, 128 channels, stride 1) -> BN -> ReLU, no pooling. Three basic blocks of 128 channels, conv(k=5,
stride) -> BN -> ReLU -> conv(k=3) -> BN plus the shortcut (1x1 conv and BN where the block strides), then ReLU;
the second and third blocks halve the length. Then the benchmark's pooling head. About 0.47 M parameters.
"""

from __future__ import annotations

import torch
from torch import nn

from ptbxl_multimodal.models.base import BranchModel
from ptbxl_multimodal.models.time.benchmark_head import EMBEDDING_DIM, PoolingEmbedding, benchmark_init

PLANES = 128
KERNELS = (5, 3)  # the two convolutions of a block
STEM_KERNEL = 7
STRIDES = (1, 2, 2)  # one block per stage


class BasicBlock(nn.Module):
    """conv-BN-ReLU-conv-BN with an identity (or strided 1x1 conv + BN) shortcut, then ReLU."""

    def __init__(self, channels: int, stride: int):
        super().__init__()
        k1, k2 = KERNELS
        self.body = nn.Sequential(
            nn.Conv1d(channels, channels, k1, stride=stride, padding=(k1 - 1) // 2, bias=False),
            nn.BatchNorm1d(channels),
            nn.ReLU(inplace=True),
            nn.Conv1d(channels, channels, k2, padding=(k2 - 1) // 2, bias=False),
            nn.BatchNorm1d(channels),
        )
        self.shortcut = (
            nn.Identity()
            if stride == 1
            else nn.Sequential(nn.Conv1d(channels, channels, 1, stride=stride, bias=False), nn.BatchNorm1d(channels))
        )
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.shortcut(x))


class ResNet1dWang(BranchModel):
    """The benchmark's `resnet1d_wang` on (leads, T) input; fully convolutional, so any length of at least a
    few samples works."""

    def __init__(self, input_shape: tuple[int, int], n_classes: int):
        leads = input_shape[0]
        super().__init__(input_shape, (leads, 1), EMBEDDING_DIM, n_classes)
        self.features = nn.Sequential(
            nn.Conv1d(leads, PLANES, STEM_KERNEL, padding=(STEM_KERNEL - 1) // 2, bias=False),
            nn.BatchNorm1d(PLANES),
            nn.ReLU(inplace=True),
            *(BasicBlock(PLANES, stride) for stride in STRIDES),
        )
        self.pool = PoolingEmbedding(PLANES)
        benchmark_init(self)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.features(self.normalize(self.crop_for_training(x))))
