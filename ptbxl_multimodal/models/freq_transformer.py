"""`freq` branch: a 1D CNN front end over the FFT bins, then a Transformer encoder (bins as the sequence)."""

from __future__ import annotations

import torch
from torch import nn

from .base import BranchModel, avg_max_pool, embedding_mlp


class FreqTransformer(BranchModel):
    """Leads are channels; a strided conv shortens the bin axis before self-attention over it."""

    def __init__(
        self,
        input_shape: tuple[int, int],
        n_classes: int,
        channels: int,
        kernel_size: int,
        downsample: int,
        d_model: int,
        heads: int,
        layers: int,
        ff_dim: int,
        embedding_dim: int,
        dropout: float,
    ):
        leads, n_bins = input_shape
        super().__init__(input_shape, (leads, n_bins), embedding_dim, n_classes)
        pad = kernel_size // 2
        self.frontend = nn.Sequential(
            nn.Conv1d(leads, channels, kernel_size, padding=pad, bias=False),
            nn.BatchNorm1d(channels),
            nn.GELU(),
            nn.Conv1d(channels, d_model, kernel_size, stride=downsample, padding=pad, bias=False),
            nn.BatchNorm1d(d_model),
            nn.GELU(),
        )
        seq_len = (n_bins + 2 * pad - kernel_size) // downsample + 1
        self.position = nn.Parameter(torch.zeros(1, seq_len, d_model))
        nn.init.trunc_normal_(self.position, std=0.02)
        layer = nn.TransformerEncoderLayer(
            d_model, heads, ff_dim, dropout, activation="gelu", batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.project = embedding_mlp(2 * d_model, embedding_dim, dropout)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        h = self.frontend(self.normalize(x)).transpose(1, 2)  # (B, seq, d_model)
        h = self.norm(self.encoder(h + self.position))
        return self.project(avg_max_pool(h, dim=1))
