"""Self-contained model checkpoints: the file format, and branch checkpoints.

A branch checkpoint holds the architecture, the input shape, the class names, the normalisation
statistics (as buffers in the weights) and the input specification (`InputSpec.to_dict`): everything
needed to use it without params.yaml. Fusion checkpoints, which embed their branches' checkpoints, are
built in `fusion/checkpoints.py`, so that training a branch does not depend on the fusion models' code.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ptbxl_multimodal.branches import BRANCHES
from ptbxl_multimodal.errors import StageError
from ptbxl_multimodal.evaluation.calibration import Calibration
from ptbxl_multimodal.io.atomic import atomic_path
from ptbxl_multimodal.models.base import BranchModel
from ptbxl_multimodal.signal.input_spec import InputSpec

FORMAT = "ptbxl-multimodal/4"  # 2: typed input spec and architecture settings; 3: decision thresholds; 4: calibration
# 2 loads, but has no thresholds: `thresholds` says what to do; 2 and 3 were never calibrated (identity)
READABLE = ("ptbxl-multimodal/2", "ptbxl-multimodal/3", FORMAT)


def cpu_state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
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
        "state_dict": cpu_state(model),
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
        raise StageError(
            f"{path}: model not found; train it with `dvc repro` (downloads PTB-XL), or offline with a local copy: "
            "`dvc exp run -S download.source=/path/to/ptb-xl`"
        ) from None
    if not isinstance(ckpt, dict) or ckpt.get("format") not in READABLE:
        raise StageError(
            f"{path}: not a checkpoint of this version of the pipeline (format {FORMAT}); run `dvc repro` to retrain it"
        )
    return ckpt


def set_thresholds(ckpt: dict[str, Any], thresholds: np.ndarray) -> dict[str, Any]:
    """Store the per-class decision thresholds (tuned on the validation split where the model was selected)."""
    ckpt["thresholds"] = [float(t) for t in thresholds]
    return ckpt


def thresholds(ckpt: dict[str, Any], path: str | Path) -> np.ndarray:
    """The per-class decision thresholds stored by `set_thresholds`; a one-line error for a checkpoint saved
    before they travelled with the model."""
    if "thresholds" not in ckpt:
        raise StageError(
            f"{path}: no decision thresholds in this checkpoint (saved by an older version of the pipeline); "
            "retrain with `dvc repro`, or give predict an explicit --threshold (e.g. 0.5)"
        )
    values = np.asarray(ckpt["thresholds"], dtype=np.float64)
    if values.shape != (len(ckpt["classes"]),):
        raise StageError(f"{path}: {values.size} thresholds for {len(ckpt['classes'])} classes; retrain it")
    return values


def set_calibration(ckpt: dict[str, Any], fitted: Calibration) -> dict[str, Any]:
    """Store the post-hoc calibration fitted on the validation split (evaluation.calibration)."""
    ckpt["calibration"] = fitted.to_dict()
    return ckpt


def calibration(ckpt: dict[str, Any]) -> Calibration:
    """The stored calibration; the identity for a checkpoint saved before calibration existed (format 2, 3),
    which is what such a model was: uncalibrated."""
    if "calibration" not in ckpt:
        return Calibration.identity(len(ckpt["classes"]))
    return Calibration.from_dict(ckpt["calibration"])


def input_spec(ckpt: dict[str, Any]) -> InputSpec:
    """The typed input specification of a branch checkpoint."""
    return InputSpec.from_dict(ckpt["input_spec"])


def branch_from_checkpoint(ckpt: dict[str, Any]) -> BranchModel:
    """Rebuild a branch model (weights and normalisation included), in eval mode."""
    branch = BRANCHES[ckpt["branch"]]
    model = branch.build(tuple(ckpt["input_shape"]), len(ckpt["classes"]), branch.config(**ckpt["architecture"]))
    model.load_state_dict(ckpt["state_dict"])
    return model.eval()
