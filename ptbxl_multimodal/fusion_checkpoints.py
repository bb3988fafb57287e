"""Fusion checkpoints: the embedding heads' (with their possibly fine-tuned branches inside) and the stacked
fusion's (its branches and, with bagged test-time logits, their cross-fitting models), and rebuilding either
kind of model from its checkpoint."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ptbxl_multimodal import checkpoints
from ptbxl_multimodal.checkpoints import branch_from_checkpoint, cpu_state
from ptbxl_multimodal.models.base import BranchModel
from ptbxl_multimodal.models.fusion import FusionHead, FusionModel
from ptbxl_multimodal.models.stacked import BaggedBranch, StackedFusion


def fusion_checkpoint(
    model: FusionModel, branch_ckpts: dict[str, dict], head_config: dict, classes: list[str], task: str, training: dict
) -> dict[str, Any]:
    """The checkpoint dict of the fusion model, with its (possibly fine-tuned) branches inside."""
    branches = {name: {**ckpt, "state_dict": cpu_state(model.branches[name])} for name, ckpt in branch_ckpts.items()}
    return {
        "format": checkpoints.FORMAT,
        "kind": "fusion",
        "branches": branches,
        "head": dict(head_config),
        "head_state_dict": cpu_state(model.head),
        "classes": list(classes),
        "task": task,
        "training": training,
    }


def stacked_checkpoint(
    branch_ckpts: dict[str, dict],
    fold_ckpts: dict[str, list[dict]] | None,
    stack: dict,
    classes: list[str],
    task: str,
    training: dict,
) -> dict[str, Any]:
    """The checkpoint dict of the stacked fusion: its branches (with `fold_ckpts`, the cross-fitting models
    whose mean logits replace each branch's), the per-class weights and intercepts, and why they were chosen."""
    return {
        "format": checkpoints.FORMAT,
        "kind": "fusion",
        "branches": branch_ckpts,
        "fold_branches": fold_ckpts,
        "head": {"method": "stack", "test_logits": "bagged" if fold_ckpts else "full"},
        "stack": stack,
        "classes": list(classes),
        "task": task,
        "training": training,
    }


def fusion_head(head_config: dict, n_classes: int) -> FusionHead:
    """Build a fusion head from its stored configuration."""
    cfg = head_config
    return FusionHead(
        cfg["embedding_dims"], n_classes, cfg["method"], cfg["hidden"], cfg["dropout"], cfg["branch_dropout"]
    )


def deployed_branches(
    branch_ckpts: dict[str, dict], fold_ckpts: dict[str, list[dict]] | None, spread: dict[str, dict] | None = None
) -> dict[str, nn.Module]:
    """Each branch in the form the stacked fusion uses at test time: the train@ model, or with `fold_ckpts` the
    mean of its cross-fitting models (bagged), spread back to one fold model's spread where `spread` (branch ->
    center, scale; training.stacking.match_spread) names it; in eval mode."""
    if not fold_ckpts:
        return {name: branch_from_checkpoint(b) for name, b in branch_ckpts.items()}
    out: dict[str, nn.Module] = {}
    for name in branch_ckpts:
        match = (spread or {}).get(name)
        center, scale = (torch.tensor(match["center"]), torch.tensor(match["scale"])) if match else (None, None)
        out[name] = BaggedBranch([branch_from_checkpoint(f) for f in fold_ckpts[name]], center, scale).eval()
    return out


def stacked_from_checkpoint(ckpt: dict[str, Any]) -> StackedFusion:
    """Rebuild the stacked fusion (full branches, or their bagged cross-fitting models), in eval mode. A checkpoint
    older than the spread matching has none and deploys the plain mean, as it did."""
    branches = deployed_branches(ckpt["branches"], ckpt.get("fold_branches"), ckpt["stack"].get("spread"))
    stack = ckpt["stack"]
    return StackedFusion(branches, torch.tensor(stack["weights"]), torch.tensor(stack["intercept"])).eval()


def fusion_from_checkpoint(ckpt: dict[str, Any]) -> FusionModel | StackedFusion:
    """Rebuild the fusion model with its branches, in eval mode."""
    if ckpt["head"]["method"] == "stack":
        return stacked_from_checkpoint(ckpt)
    branches = {name: branch_from_checkpoint(b) for name, b in ckpt["branches"].items()}
    model = FusionModel(branches, fusion_head(ckpt["head"], len(ckpt["classes"])))
    model.head.load_state_dict(ckpt["head_state_dict"])
    return model.eval()


def model_from_checkpoint(ckpt: dict[str, Any]) -> BranchModel | FusionModel | StackedFusion:
    """Either kind of model."""
    return fusion_from_checkpoint(ckpt) if ckpt["kind"] == "fusion" else branch_from_checkpoint(ckpt)
