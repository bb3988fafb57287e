"""Self-contained model checkpoints: weights plus everything needed to use them without params.yaml.

A branch checkpoint holds the architecture, the input shape, the class names, the normalisation
statistics (as buffers in the weights) and the input specification (`InputSpec.to_dict`). The fusion
checkpoint embeds its branches' checkpoints (and, for the stacked fusion with bagged test-time logits, their
cross-fitting checkpoints).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from ptbxl_multimodal.branches import BRANCHES
from ptbxl_multimodal.errors import StageError
from ptbxl_multimodal.input_spec import InputSpec
from ptbxl_multimodal.io.atomic import atomic_path
from ptbxl_multimodal.models.base import BranchModel
from ptbxl_multimodal.models.fusion import FusionHead, FusionModel
from ptbxl_multimodal.models.stacked import BaggedBranch, StackedFusion

FORMAT = "ptbxl-multimodal/2"  # 2: typed input spec and architecture settings


def _cpu_state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A detached CPU copy of a module's weights and buffers."""
    return {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}


def branch_checkpoint(
    branch: str,
    model: BranchModel,
    architecture: Any,
    classes: list[str],
    task: str,
    input_spec: InputSpec,
    training: dict,
) -> dict[str, Any]:
    """The checkpoint dict of one trained branch (`architecture`: the branch's config settings)."""
    return {
        "format": FORMAT,
        "kind": "branch",
        "branch": branch,
        "architecture": asdict(architecture),
        "input_shape": list(model.input_shape),
        "classes": list(classes),
        "task": task,
        "input_spec": input_spec.to_dict(),
        "training": training,
        "state_dict": _cpu_state(model),
    }


def fusion_checkpoint(
    model: FusionModel, branch_ckpts: dict[str, dict], head_config: dict, classes: list[str], task: str, training: dict
) -> dict[str, Any]:
    """The checkpoint dict of the fusion model, with its (possibly fine-tuned) branches inside."""
    branches = {name: {**ckpt, "state_dict": _cpu_state(model.branches[name])} for name, ckpt in branch_ckpts.items()}
    return {
        "format": FORMAT,
        "kind": "fusion",
        "branches": branches,
        "head": dict(head_config),
        "head_state_dict": _cpu_state(model.head),
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
        "format": FORMAT,
        "kind": "fusion",
        "branches": branch_ckpts,
        "fold_branches": fold_ckpts,
        "head": {"method": "stack", "test_logits": "bagged" if fold_ckpts else "full"},
        "stack": stack,
        "classes": list(classes),
        "task": task,
        "training": training,
    }


def validation_best(branch_ckpts: dict[str, dict]) -> str:
    """The branch with the highest validation macro AUC (kept epoch): the one a fusion model must beat."""
    return max(branch_ckpts, key=lambda n: branch_ckpts[n]["training"]["best_val_macro_auc"])


def save(ckpt: dict[str, Any], path: str | Path) -> None:
    """Write atomically (a killed run never leaves a truncated checkpoint)."""
    with atomic_path(path) as tmp:
        torch.save(ckpt, tmp)


def load(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint written by `save` (tensors and plain Python only)."""
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise StageError(f"{path}: model not found; run `dvc repro` to train it") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise StageError(
            f"{path}: not a checkpoint of this version of the pipeline (format {FORMAT}); run `dvc repro` to retrain it"
        )
    return ckpt


def input_spec(ckpt: dict[str, Any]) -> InputSpec:
    """The typed input specification of a branch checkpoint."""
    return InputSpec.from_dict(ckpt["input_spec"])


def branch_from_checkpoint(ckpt: dict[str, Any]) -> BranchModel:
    """Rebuild a branch model (weights and normalisation included), in eval mode."""
    branch = BRANCHES[ckpt["branch"]]
    model = branch.build(tuple(ckpt["input_shape"]), len(ckpt["classes"]), branch.config(**ckpt["architecture"]))
    model.load_state_dict(ckpt["state_dict"])
    return model.eval()


def fusion_head(head_config: dict, n_classes: int) -> FusionHead:
    """Build a fusion head from its stored configuration."""
    cfg = head_config
    return FusionHead(
        cfg["embedding_dims"], n_classes, cfg["method"], cfg["hidden"], cfg["dropout"], cfg["branch_dropout"]
    )


def stacked_from_checkpoint(ckpt: dict[str, Any]) -> StackedFusion:
    """Rebuild the stacked fusion (full branches, or their bagged cross-fitting models), in eval mode."""
    folds = ckpt.get("fold_branches")
    branches = {
        name: BaggedBranch([branch_from_checkpoint(f) for f in folds[name]]) if folds else branch_from_checkpoint(b)
        for name, b in ckpt["branches"].items()
    }
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
