"""What every branch model shares: input normalisation buffers, an embedding, a linear head."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from ptbxl_multimodal.signal.windows import window_starts


@dataclass(frozen=True)
class SlidingWindows:
    """The PTB-XL benchmark's scoring protocol: a record longer than `length` steps is scored as windows of that
    length every `stride` steps (the last one ending at the record's end), and the windows' logits are
    aggregated per class by `mean` or `max` (the benchmark: max of probabilities, which is max of logits)."""

    length: int
    stride: int
    aggregate: str  # mean | max

    def __call__(self, score: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        starts = window_starts(x.shape[-1], self.length, self.stride)
        windows = torch.stack([x[..., s : s + self.length] for s in starts], dim=1)  # (B, W, ..., length)
        logits = score(windows.flatten(0, 1)).unflatten(0, (x.shape[0], len(starts)))  # (B, W, C)
        return logits.amax(dim=1) if self.aggregate == "max" else logits.mean(dim=1)


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

    def set_windows(self, windows: SlidingWindows | None) -> None:
        """Train on random crops of `windows.length` steps and score longer inputs by sliding windows (None: the
        whole input, both ways)."""
        self.windows = windows
        if windows is not None:
            self.crop_length = windows.length

    def embed(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        windows = getattr(self, "windows", None)
        if self.training or windows is None or x.shape[-1] <= windows.length:
            return self.head(self.embed(x))
        return windows(lambda w: self.head(self.embed(w)), x)


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
