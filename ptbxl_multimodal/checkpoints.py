"""Self-contained model checkpoints, typed: a branch's (`BranchCheckpoint`) and the fusion's (`FusionCheckpoint`,
with its branches inside), written and read here only (`save`, `load`).

A branch checkpoint holds the architecture, the input shape, the class names, the normalisation statistics (as
buffers in the weights), the input specification, and the calibration and decision thresholds fitted on the
validation split: everything needed to use it without params.yaml. Rebuilding a model from a checkpoint lives
with the models' code (`BranchCheckpoint.model`; the fusion's in `fusion/checkpoints.py`), so that training a
branch does not depend on the fusion models' code. On disk a checkpoint is a plain dict of tensors and Python
values, read with `torch.load(weights_only=True)`; a checkpoint of an older format is refused with the fix.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from ptbxl_multimodal.branches import BRANCHES
from ptbxl_multimodal.errors import StageError
from ptbxl_multimodal.evaluation.calibration import Calibration
from ptbxl_multimodal.io.atomic import atomic_path
from ptbxl_multimodal.models.base import BranchModel
from ptbxl_multimodal.signal.input_spec import InputSpec

FORMAT = "ptbxl-multimodal/5"  # 2: typed input spec and architecture; 3: decision thresholds; 4: calibration;
# 5: the signal branch's architecture and scoring protocol (train.time.arch, crop_seconds, window_*)
State = dict[str, torch.Tensor]


def cpu_state(module: torch.nn.Module) -> State:
    """A detached CPU copy of a module's weights and buffers."""
    return {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}


@dataclass
class Decisions:
    """What a model decides with, fitted on validation (training.decisions): its calibration, then per-class
    thresholds on the calibrated probabilities. Empty until fitted; a saved checkpoint always has them."""

    calibration: Calibration | None = None
    thresholds: list[float] = field(default_factory=list)

    def fitted(self, calibration: Calibration, thresholds: np.ndarray) -> None:
        self.calibration, self.thresholds = calibration, [float(t) for t in thresholds]

    def to_dict(self) -> dict[str, Any]:
        if self.calibration is None:
            return {}
        return {"calibration": self.calibration.to_dict(), "thresholds": list(self.thresholds)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Decisions:
        return cls(Calibration.from_dict(d["calibration"]), list(d["thresholds"]))


@dataclass
class BranchCheckpoint:
    """One trained branch model."""

    branch: str
    architecture: dict[str, Any]  # the branch's architecture settings (asdict)
    input_shape: list[int]
    classes: list[str]
    task: str
    input_spec: InputSpec
    training: dict[str, Any]  # how it was trained: settings, kept epoch, thread counts, records
    state_dict: State
    decisions: Decisions = field(default_factory=Decisions)
    kind: ClassVar[str] = "branch"

    @classmethod
    def of(
        cls,
        branch: str,
        model: BranchModel,
        architecture: Any,
        classes: list[str],
        task: str,
        input_spec: InputSpec,
        training: dict,
    ) -> BranchCheckpoint:
        """The checkpoint of a trained branch model (`architecture`: the branch's config settings)."""
        shape = list(model.input_shape)
        return cls(branch, asdict(architecture), shape, list(classes), task, input_spec, training, cpu_state(model))

    def model(self) -> BranchModel:
        """The branch model rebuilt (weights and normalisation included), in eval mode."""
        branch = BRANCHES[self.branch]
        config = branch.config(**self.architecture)
        model = branch.build(tuple(self.input_shape), len(self.classes), config, self.input_spec.signal_fs)
        model.load_state_dict(self.state_dict)
        return model.eval()

    def specs(self) -> dict[str, InputSpec]:
        """The input specification of every branch it uses (its own)."""
        return {self.branch: self.input_spec}

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "kind": self.kind,
            "branch": self.branch,
            "architecture": self.architecture,
            "input_shape": self.input_shape,
            "classes": self.classes,
            "task": self.task,
            "input_spec": self.input_spec.to_dict(),
            "training": self.training,
            "state_dict": self.state_dict,
            **self.decisions.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BranchCheckpoint:
        return cls(
            branch=d["branch"],
            architecture=d["architecture"],
            input_shape=d["input_shape"],
            classes=d["classes"],
            task=d["task"],
            input_spec=InputSpec.from_dict(d["input_spec"]),
            training=d["training"],
            state_dict=d["state_dict"],
            decisions=Decisions.from_dict(d),
        )


@dataclass
class FusionCheckpoint:
    """The fusion: an embedding head (`head_state_dict`, its possibly fine-tuned branches inside) or the stacked
    fusion (`stack`: weights, intercepts, alignment and why they were chosen; with bagged test-time logits,
    `fold_branches`: each branch's cross-fitting models)."""

    branches: dict[str, BranchCheckpoint]
    head: dict[str, Any]  # the head's settings; for the stack, method and test_logits
    classes: list[str]
    task: str
    training: dict[str, Any]
    head_state_dict: State | None = None
    stack: dict[str, Any] | None = None
    fold_branches: dict[str, list[BranchCheckpoint]] | None = None
    decisions: Decisions = field(default_factory=Decisions)
    kind: ClassVar[str] = "fusion"

    @property
    def stacked(self) -> bool:
        return self.head["method"] == "stack"

    def specs(self) -> dict[str, InputSpec]:
        """The input specification of every branch it uses."""
        return {name: b.input_spec for name, b in self.branches.items()}

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "format": FORMAT,
            "kind": self.kind,
            "branches": {name: b.to_dict() for name, b in self.branches.items()},
        }
        if self.stacked:
            folds = self.fold_branches
            out["fold_branches"] = {n: [f.to_dict() for f in fs] for n, fs in folds.items()} if folds else None
            out |= {"head": self.head, "stack": self.stack}
        else:
            out |= {"head": self.head, "head_state_dict": self.head_state_dict}
        return out | {"classes": self.classes, "task": self.task, "training": self.training, **self.decisions.to_dict()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FusionCheckpoint:
        folds = d.get("fold_branches") or {}
        return cls(
            branches={name: BranchCheckpoint.from_dict(b) for name, b in d["branches"].items()},
            head=d["head"],
            classes=d["classes"],
            task=d["task"],
            training=d["training"],
            head_state_dict=d.get("head_state_dict"),
            stack=d.get("stack"),
            fold_branches={n: [BranchCheckpoint.from_dict(f) for f in fs] for n, fs in folds.items()} or None,
            decisions=Decisions.from_dict(d),
        )


Checkpoint = BranchCheckpoint | FusionCheckpoint


def validation_best(branches: dict[str, BranchCheckpoint]) -> str:
    """The branch with the highest validation macro AUC (kept epoch): the one a fusion model must beat."""
    return max(branches, key=lambda n: branches[n].training["best_val_macro_auc"])


def save(ckpt: Checkpoint, path: str | Path) -> None:
    """Write atomically (a killed run never leaves a truncated checkpoint); its decisions must be fitted."""
    if ckpt.decisions.calibration is None:
        raise ValueError(f"{path}: a checkpoint is saved with its calibration and thresholds (fit_decisions)")
    with atomic_path(path) as tmp:
        torch.save(ckpt.to_dict(), tmp)


def load(path: str | Path) -> Checkpoint:
    """Read a checkpoint written by `save` (tensors and plain Python only)."""
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise StageError(
            f"{path}: model not found; train it with `dvc repro` (downloads PTB-XL), or offline with a local copy: "
            "`dvc exp run -S download.source=/path/to/ptb-xl`"
        ) from None
    if not isinstance(raw, dict) or not str(raw.get("format", "")).startswith("ptbxl-multimodal/"):
        raise StageError(f"{path}: not a checkpoint of this pipeline; run `dvc repro` to train the models")
    if raw["format"] != FORMAT:
        raise StageError(
            f"{path}: a checkpoint of an older version of the pipeline (format {raw['format']}, this version reads "
            f"{FORMAT}); rerun the stage that makes it (`dvc repro`)"
        )
    return FusionCheckpoint.from_dict(raw) if raw["kind"] == "fusion" else BranchCheckpoint.from_dict(raw)


def load_branch(path: str | Path) -> BranchCheckpoint:
    """`load`, for a file that must hold a branch model."""
    ckpt = load(path)
    if not isinstance(ckpt, BranchCheckpoint):
        raise StageError(f"{path}: a fusion checkpoint where a branch model was expected; rerun `dvc repro`")
    return ckpt


def load_fusion(path: str | Path) -> FusionCheckpoint:
    """`load`, for a file that must hold the fusion."""
    ckpt = load(path)
    if not isinstance(ckpt, FusionCheckpoint):
        raise StageError(f"{path}: a branch checkpoint where the fusion was expected; rerun `dvc repro`")
    return ckpt


def thresholds(ckpt: Checkpoint, path: str | Path) -> np.ndarray:
    """The per-class decision thresholds (tuned on validation), checked against the classes."""
    values = np.asarray(ckpt.decisions.thresholds, dtype=np.float64)
    if values.shape != (len(ckpt.classes),):
        raise StageError(f"{path}: {values.size} thresholds for {len(ckpt.classes)} classes; retrain it")
    return values


def calibration(ckpt: Checkpoint) -> Calibration:
    """The calibration fitted on validation (the identity before it is fitted)."""
    return ckpt.decisions.calibration or Calibration.identity(len(ckpt.classes))
