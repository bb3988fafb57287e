"""Train one branch on its own view of the ECG: fit on the training split, select on validation, save."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ptbxl_multimodal import checkpoints
from ptbxl_multimodal.branches import BRANCHES, input_files, unmixed
from ptbxl_multimodal.config.params import BranchParams
from ptbxl_multimodal.config.paths import ProjectPaths
from ptbxl_multimodal.data.loading import SplitData, load_split, normalization_stats, read_labels
from ptbxl_multimodal.models.base import BranchModel
from ptbxl_multimodal.models.runtime import INFERENCE_BATCH, module_logits
from ptbxl_multimodal.signal.input_spec import InputSpec
from ptbxl_multimodal.training.fit_and_save import fit_and_save
from ptbxl_multimodal.training.loop import FitResult, fit


def fit_branch(
    name: str,
    params: BranchParams,
    train: SplitData,
    val: SplitData,
    n_classes: int,
    spec: InputSpec,
    live: Any = None,
) -> tuple[BranchModel, FitResult]:
    """A fresh branch model for inputs like `spec` fitted on `train` (normalisation from `train` only), selected
    on `val`."""
    branch, settings = BRANCHES[name], params.training
    torch.manual_seed(settings.seed)  # weight initialisation
    model = branch.build(train.inputs[name].shape[1:], n_classes, params.architecture, spec.signal_fs)
    mean, std = normalization_stats(train.inputs[name], branch.norm_axes)
    model.set_normalization(torch.from_numpy(mean), torch.from_numpy(std))
    as_batch = lambda d: {"x": torch.from_numpy(d.inputs[name])}  # noqa: E731
    result = fit(
        model,
        lambda net, b: net(b["x"]),
        (as_batch(train), train.y),
        (as_batch(val), val.y),
        settings,
        live,
        name=name,
        unmixed={"x"} if unmixed([name]) else (),
    )
    return model, result


def validation_logits(ckpt: checkpoints.BranchCheckpoint, val_inputs: np.ndarray) -> np.ndarray:
    """A branch checkpoint's logits on its validation inputs, run exactly as evaluate and predict run it
    (rebuilt from the checkpoint, same batches), so that calibration and thresholds fitted on them agree with
    every later decision."""
    model = ckpt.model()
    return module_logits({"x": model}, {"x": val_inputs}, INFERENCE_BATCH)["x"]


def train_branch(
    name: str,
    params: BranchParams,
    calibration_method: str,
    paths: ProjectPaths,
    out: Path | None = None,
    log_name: str | None = None,
) -> Path:
    """Train branch `name`, calibrate it (`calibration_method`) and tune its thresholds on validation; write its
    checkpoint (to `out`, else the branch's) and training log (metrics/train/<log_name or name>; rank 0 only);
    return the checkpoint path."""
    split = json.loads(paths.split.read_text())
    files = input_files(paths, [name])
    train, val = (load_split(files, split[s], paths.records) for s in ("train", "val"))
    labels = read_labels(paths.records)
    out = out or paths.model(name)
    spec = InputSpec.from_h5(*files[name])

    def checkpoint(model: BranchModel, result: FitResult) -> checkpoints.BranchCheckpoint:
        training = {**result.record(params.training), "train_records": len(train.y)}
        return checkpoints.BranchCheckpoint.of(
            name, model, params.architecture, labels.classes, labels.task, spec, training
        )

    fit_and_save(
        lambda live: fit_branch(name, params, train, val, len(labels.classes), spec, live),
        checkpoint,
        lambda ckpt: validation_logits(ckpt, val.inputs[name]),
        val.y,
        calibration_method,
        out,
        paths.train_logs / (log_name or name),
    )
    return out
