"""How a model is trained: params.yaml `train.common`, which each branch (and `fusion`) may override key by key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from ptbxl_multimodal.schema import field_names, parse, parse_overrides, setting, subtree

T = TypeVar("T")


@dataclass(frozen=True)
class TrainSettings:
    """The training loop's settings for one model (train.common merged with that model's overrides)."""

    epochs: int = setting(ge=1)
    batch_size: int = setting(ge=1)
    lr: float = setting(gt=0)
    weight_decay: float = setting(ge=0)
    scheduler: Literal["onecycle", "cosine", "none"]
    patience: int = setting(ge=1)  # epochs without a better validation macro AUC (after warm-up)
    grad_clip: float = setting(ge=0)  # max gradient norm; 0 = off
    mixup: float = setting(ge=0)  # Beta(alpha, alpha) of mixup; 0 = off
    imbalance: Literal["none", "pos_weight", "oversample"]
    seed: int = setting(ge=0)
    device: Literal["auto", "cpu", "cuda"]
    amp: bool  # mixed precision on CUDA
    threads: int = setting(ge=0)  # torch CPU threads; 0 = torch's default
    nproc: int = setting(ge=1)  # data-parallel processes; 1 = off


def parse_with_training(
    cls: type[T], raw: dict[str, Any], path: str, errors: list[str]
) -> tuple[T | None, TrainSettings | None]:
    """A section (train.<branch> or fusion) holding `cls`'s keys plus optional overrides of train.common:
    the section's settings and its training settings (train.common with the overrides applied)."""
    values = subtree(raw, path, errors)
    common = parse(TrainSettings, subtree(raw, "train.common", errors), "train.common", errors)
    if values is None:
        return None, None
    settings = parse(cls, values, path, errors, extra=field_names(TrainSettings))
    if not isinstance(values, dict):
        return settings, None
    return settings, parse_overrides(TrainSettings, common, values, path, errors)
