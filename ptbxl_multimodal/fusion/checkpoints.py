"""Fusion checkpoints: the embedding heads' (with their possibly fine-tuned branches inside) and the stacked
fusion's (its branches and, with bagged test-time logits, their cross-fitting models), and rebuilding either
kind of model from its checkpoint."""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from ptbxl_multimodal.checkpoints import BranchCheckpoint, Checkpoint, FusionCheckpoint, cpu_state
from ptbxl_multimodal.errors import StageError
from ptbxl_multimodal.fusion.heads import FusionHead, FusionModel
from ptbxl_multimodal.fusion.stacked import AlignedBranch, BaggedBranch, StackedFusion
from ptbxl_multimodal.models.base import BranchModel


def fusion_checkpoint(
    model: FusionModel,
    branch_ckpts: dict[str, BranchCheckpoint],
    head_config: dict,
    classes: list[str],
    task: str,
    training: dict,
) -> FusionCheckpoint:
    """The checkpoint of an embedding-head fusion model, with its (possibly fine-tuned) branches inside."""
    branches = {
        name: dataclasses.replace(ckpt, state_dict=cpu_state(model.branches[name]))
        for name, ckpt in branch_ckpts.items()
    }
    return FusionCheckpoint(
        branches, dict(head_config), list(classes), task, training, head_state_dict=cpu_state(model.head)
    )


def stacked_checkpoint(
    branch_ckpts: dict[str, BranchCheckpoint],
    fold_ckpts: dict[str, list[BranchCheckpoint]] | None,
    stack: dict,
    classes: list[str],
    task: str,
    training: dict,
) -> FusionCheckpoint:
    """The checkpoint of the stacked fusion: its branches (with `fold_ckpts`, the cross-fitting models whose mean
    logits replace each branch's), the per-class weights and intercepts, and why they were chosen."""
    head = {"method": "stack", "test_logits": "bagged" if fold_ckpts else "full"}
    return FusionCheckpoint(branch_ckpts, head, list(classes), task, training, stack=stack, fold_branches=fold_ckpts)


def fusion_head(head_config: dict, n_classes: int) -> FusionHead:
    """Build a fusion head from its stored configuration."""
    cfg = head_config
    return FusionHead(
        cfg["embedding_dims"], n_classes, cfg["method"], cfg["hidden"], cfg["dropout"], cfg["branch_dropout"]
    )


def deployed_branches(
    branch_ckpts: dict[str, BranchCheckpoint], fold_ckpts: dict[str, list[BranchCheckpoint]] | None
) -> dict[str, nn.Module]:
    """Each branch in the form the stacked fusion uses at test time, before alignment: the train@ model, or with
    `fold_ckpts` the mean of its cross-fitting models (bagged); in eval mode."""
    if not fold_ckpts:
        return {name: b.model() for name, b in branch_ckpts.items()}
    return {name: BaggedBranch([f.model() for f in fold_ckpts[name]]).eval() for name in branch_ckpts}


def aligned_branches(raw: dict[str, nn.Module], align: dict[str, dict]) -> dict[str, nn.Module]:
    """The deployed branches mapped onto their fold models' per-class centre and spread (`align`: branch -> scale,
    offset; fusion.stacking.align_to_folds)."""
    return {
        name: AlignedBranch(module, torch.tensor(align[name]["scale"]), torch.tensor(align[name]["offset"])).eval()
        for name, module in raw.items()
    }


def stacked_from_checkpoint(ckpt: FusionCheckpoint) -> StackedFusion:
    """Rebuild the stacked fusion (full branches, or their bagged cross-fitting models, each aligned to the logits
    the weights were fitted on), in eval mode."""
    stack = ckpt.stack or {}
    if "align" not in stack:
        raise StageError(
            "this stacked fusion checkpoint predates the alignment of deployed to fitted logits (its weights do not "
            "apply to its branches as stored); rerun the fusion stage: `dvc repro fusion`"
        )
    raw = deployed_branches(ckpt.branches, ckpt.fold_branches)
    branches = aligned_branches(raw, stack["align"])
    return StackedFusion(branches, torch.tensor(stack["weights"]), torch.tensor(stack["intercept"])).eval()


def fusion_from_checkpoint(ckpt: FusionCheckpoint) -> FusionModel | StackedFusion:
    """Rebuild the fusion model with its branches, in eval mode."""
    if ckpt.stacked:
        return stacked_from_checkpoint(ckpt)
    branches = {name: b.model() for name, b in ckpt.branches.items()}
    model = FusionModel(branches, fusion_head(ckpt.head, len(ckpt.classes)))
    assert ckpt.head_state_dict is not None
    model.head.load_state_dict(ckpt.head_state_dict)
    return model.eval()


def model_from_checkpoint(ckpt: Checkpoint) -> BranchModel | FusionModel | StackedFusion:
    """Either kind of model."""
    return fusion_from_checkpoint(ckpt) if isinstance(ckpt, FusionCheckpoint) else ckpt.model()
