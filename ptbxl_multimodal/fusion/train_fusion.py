"""Train the fusion head over the trained branches' embeddings (branches frozen by default)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from ptbxl_multimodal import checkpoints
from ptbxl_multimodal.branches import input_files, unmixed
from ptbxl_multimodal.config.params import FusionParams
from ptbxl_multimodal.config.paths import ProjectPaths
from ptbxl_multimodal.data.loading import SplitData, load_split
from ptbxl_multimodal.errors import StageError
from ptbxl_multimodal.fusion import checkpoints as fusion_checkpoints
from ptbxl_multimodal.fusion.heads import FusionModel
from ptbxl_multimodal.models.runtime import INFERENCE_BATCH
from ptbxl_multimodal.predict.inference import Predictor
from ptbxl_multimodal.training.fit_and_save import fit_and_save
from ptbxl_multimodal.training.loop import FitResult, fit


def load_branches(names: list[str], paths: ProjectPaths) -> dict[str, checkpoints.BranchCheckpoint]:
    """The branch checkpoints, checked to share one class list."""
    ckpts = {name: checkpoints.load_branch(paths.model(name)) for name in names}
    classes = {tuple(c.classes) for c in ckpts.values()}
    if len(classes) != 1:
        raise StageError(f"branch models disagree on the classes ({classes}); rerun the branches with `dvc repro`")
    return ckpts


def train_fusion(params: FusionParams, calibration_method: str, paths: ProjectPaths) -> Path:
    """Train an embedding fusion head (concat, gated, attention) on the training split, select, calibrate
    (`calibration_method`) and tune thresholds on validation; write the fusion checkpoint."""
    p, settings = params.settings, params.training
    names = list(p.branches)
    ckpts = load_branches(names, paths)
    first = next(iter(ckpts.values()))
    classes = first.classes
    branches = {name: ckpt.model() for name, ckpt in ckpts.items()}
    split = json.loads(paths.split.read_text())
    files = input_files(paths, names)
    train, val = (load_split(files, split[s], paths.records) for s in ("train", "val"))
    head_config = {
        "method": p.method,
        "hidden": p.hidden,
        "dropout": p.dropout,
        "branch_dropout": p.branch_dropout,
        "embedding_dims": [branches[n].embedding_dim for n in names],
        "finetune": p.finetune,
    }
    torch.manual_seed(settings.seed)
    head = fusion_checkpoints.fusion_head(head_config, len(classes))
    fusion = FusionModel(branches, head, freeze_branches=not p.finetune)
    groups = None
    if p.finetune:
        # Branch weights move ten times slower than the fresh head.
        groups = [
            {"params": head.parameters(), "lr": settings.lr},
            {"params": [w for b in branches.values() for w in b.parameters()], "lr": settings.lr / 10},
        ]

    out = paths.model("fusion")

    def fit_head(live: Any) -> tuple[FusionModel, FitResult]:
        result = fit(
            fusion,
            lambda net, b: net(b),
            (_tensors(train), train.y),
            (_tensors(val), val.y),
            settings,
            live,
            name="fusion",
            param_groups=groups,
            unmixed=unmixed(names),
        )
        return fusion, result

    def checkpoint(model: FusionModel, result: FitResult) -> checkpoints.FusionCheckpoint:
        training = {**result.record(settings), "branches": names}
        return fusion_checkpoints.fusion_checkpoint(model, ckpts, head_config, classes, first.task, training)

    fit_and_save(
        fit_head,
        checkpoint,
        lambda ckpt: Predictor(ckpt, INFERENCE_BATCH, "cpu").logits(val.inputs),  # as evaluate and predict run it
        val.y,
        calibration_method,
        out,
        paths.train_logs / "fusion",
    )
    return out


def _tensors(d: SplitData) -> dict[str, torch.Tensor]:
    return {n: torch.from_numpy(x) for n, x in d.inputs.items()}
