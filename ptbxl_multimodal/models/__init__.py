"""Model architectures: one plain torch.nn.Module per branch, and the fusion model over them."""

from __future__ import annotations

from .base import BranchModel
from .freq_transformer import FreqTransformer
from .fusion import FusionHead, FusionModel
from .meta_mlp import MetaMLP
from .spec_cnn import SpecCNN
from .time_cnn import TimeCNN

BRANCH_MODELS: dict[str, type[BranchModel]] = {
    "time": TimeCNN,
    "freq": FreqTransformer,
    "spec": SpecCNN,
    "meta": MetaMLP,
}


def build_branch(branch: str, input_shape: tuple[int, ...], n_classes: int, architecture: dict) -> BranchModel:
    """Instantiate a branch model from its architecture parameters (train.<branch> in params.yaml)."""
    return BRANCH_MODELS[branch](tuple(input_shape), n_classes, **architecture)


__all__ = ["BRANCH_MODELS", "BranchModel", "FusionHead", "FusionModel", "build_branch"]
