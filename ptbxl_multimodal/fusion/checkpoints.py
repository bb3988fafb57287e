"""Fusion checkpoints: the embedding heads' (with their possibly fine-tuned branches inside) and the stacked
fusion's (its branches and, with bagged test-time logits, their cross-fitting models), and rebuilding either
kind of model from its checkpoint."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ptbxl_multimodal import checkpoints
from ptbxl_multimodal.checkpoints import branch_from_checkpoint, cpu_state
from ptbxl_multimodal.errors import StageError
from ptbxl_multimodal.fusion.heads import FusionHead, FusionModel
from ptbxl_multimodal.fusion.stacked import AlignedBranch, BaggedBranch, StackedFusion
from ptbxl_multimodal.models.base import BranchModel


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


def deployed_branches(branch_ckpts: dict[str, dict], fold_ckpts: dict[str, list[dict]] | None) -> dict[str, nn.Module]:
    """Each branch in the form the stacked fusion uses at test time, before alignment: the train@ model, or with
    `fold_ckpts` the mean of its cross-fitting models (bagged); in eval mode."""
    if not fold_ckpts:
        return {name: branch_from_checkpoint(b) for name, b in branch_ckpts.items()}
    return {name: BaggedBranch([branch_from_checkpoint(f) for f in fold_ckpts[name]]).eval() for name in branch_ckpts}


def aligned_branches(raw: dict[str, nn.Module], align: dict[str, dict]) -> dict[str, nn.Module]:
    """The deployed branches mapped onto their fold models' per-class centre and spread (`align`: branch -> scale,
    offset; training.stacking.align_to_folds)."""
    return {
        name: AlignedBranch(module, torch.tensor(align[name]["scale"]), torch.tensor(align[name]["offset"])).eval()
        for name, module in raw.items()
    }


def stacked_from_checkpoint(ckpt: dict[str, Any]) -> StackedFusion:
    """Rebuild the stacked fusion (full branches, or their bagged cross-fitting models, each aligned to the logits
    the weights were fitted on), in eval mode."""
    stack = ckpt["stack"]
    if "align" not in stack:
        raise StageError(
            "this stacked fusion checkpoint predates the alignment of deployed to fitted logits (its weights do not "
            "apply to its branches as stored); rerun the fusion stage: `dvc repro fusion`"
        )
    raw = deployed_branches(ckpt["branches"], ckpt.get("fold_branches"))
    branches = aligned_branches(raw, stack["align"])
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
