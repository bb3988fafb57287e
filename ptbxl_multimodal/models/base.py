"""What every branch model shares: input normalisation buffers, an embedding, a linear head."""

from __future__ import annotations

import torch
from torch import nn


class BranchModel(nn.Module):
    """A branch maps its input to an embedding (`embed`) and the embedding to class logits (`head`).

    The normalisation statistics (fitted on the training split) are buffers, so they travel with
    the weights in the checkpoint and inference needs nothing else.
    """

    mean: torch.Tensor  # buffers: the training split's normalisation statistics
    std: torch.Tensor

    def __init__(self, input_shape: tuple[int, ...], stats_shape: tuple[int, ...], embedding_dim: int, n_classes: int):
        super().__init__()
        self.input_shape = tuple(input_shape)
        self.embedding_dim = embedding_dim
        self.register_buffer("mean", torch.zeros(stats_shape))
        self.register_buffer("std", torch.ones(stats_shape))
        self.head = nn.Linear(embedding_dim, n_classes)

    def set_normalization(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Store training-split statistics (std floored to avoid division by ~0)."""
        self.mean.copy_(mean.reshape(self.mean.shape))
        self.std.copy_(std.reshape(self.std.shape).clamp_min(1e-6))

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std

    def set_train_crop(self, train_crop: float, length: int) -> None:
        """Train on random windows of `train_crop` of the last axis (`length` steps); 1 = off."""
        self.crop_length = max(1, int(round(train_crop * length)))

    def crop_for_training(self, x: torch.Tensor) -> torch.Tensor:
        """The augmentation crop, in training mode only (the models are fully convolutional)."""
        length = getattr(self, "crop_length", x.shape[-1])
        return random_crop(x, length) if self.training and length < x.shape[-1] else x

    def embed(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))


def embedding_mlp(in_features: int, embedding_dim: int, dropout: float) -> nn.Sequential:
    """Pooled features -> embedding, shared by the branches' final layers."""
    return nn.Sequential(nn.Linear(in_features, embedding_dim), nn.ReLU(inplace=True), nn.Dropout(dropout))


def random_crop(x: torch.Tensor, length: int) -> torch.Tensor:
    """A random window of `length` steps along the last axis, drawn per record (augmentation)."""
    lead_dims = (1,) * (x.dim() - 2)
    offsets = torch.randint(0, x.shape[-1] - length + 1, (x.shape[0], *lead_dims, 1), device=x.device)
    index = offsets + torch.arange(length, device=x.device)
    return x.gather(-1, index.expand(*x.shape[:-1], length))


def avg_max_pool(h: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Global average and max pooling over `dim`, concatenated along the channels."""
    return torch.cat([h.mean(dim=dim), h.amax(dim=dim)], dim=1)
