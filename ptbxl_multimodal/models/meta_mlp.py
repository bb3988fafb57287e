"""`meta` branch: an MLP on age, sex, height, weight plus one missing-value indicator per column."""

from __future__ import annotations

import torch
from torch import nn

from .base import BranchModel


class MetaMLP(BranchModel):
    """Missing values (NaN) become 0 after standardisation, and an indicator says they were missing."""

    def __init__(self, input_shape: tuple[int], n_classes: int, hidden: list[int], embedding_dim: int, dropout: float):
        (n_columns,) = input_shape
        super().__init__(input_shape, (n_columns,), embedding_dim, n_classes)
        layers: list[nn.Module] = []
        c_in = 2 * n_columns
        for width in [*hidden, embedding_dim]:
            layers += [nn.Linear(c_in, width), nn.ReLU(inplace=True), nn.Dropout(dropout)]
            c_in = width
        self.mlp = nn.Sequential(*layers)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        missing = torch.isnan(x)
        z = torch.where(missing, torch.zeros_like(x), self.normalize(torch.nan_to_num(x)))
        return self.mlp(torch.cat([z, missing.to(z.dtype)], dim=1))
