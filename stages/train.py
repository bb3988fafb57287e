"""Stage `train@<branch>`: train one branch model on its own view of the ECG (python -m stages.train <branch>)."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

import torch

from ptbxl_multimodal import checkpoints
from ptbxl_multimodal.training import distributed
from ptbxl_multimodal.data.loading import input_spec, load_split, normalization_stats, read_labels
from ptbxl_multimodal.cli import run_stage
from ptbxl_multimodal.models import build_branch
from ptbxl_multimodal.config import BRANCHES, architecture, load_params, training_settings
from ptbxl_multimodal.training.loop import TrainSettings, fit
from ptbxl_multimodal.training.live_log import training_log

SPLIT = Path("data/splits/split.json")


def train_branch(branch: str, params: dict, split_path: Path = SPLIT, models_dir: Path = Path("models"),
                 logs_dir: Path = Path("metrics/train")) -> Path:
    """Train `branch` on the training split, select on validation, write models/<branch>.pt and its logs."""
    settings = TrainSettings.from_dict(training_settings(params, branch))
    arch = architecture(params, branch)
    split = json.loads(split_path.read_text())
    train, val = load_split([branch], split["train"]), load_split([branch], split["val"])
    labels = read_labels()
    classes = labels.classes
    torch.manual_seed(settings.seed)  # weight initialisation
    model = build_branch(branch, train.inputs[branch].shape[1:], len(classes), arch)
    mean, std = normalization_stats(branch, train.inputs[branch])
    model.set_normalization(torch.from_numpy(mean), torch.from_numpy(std))
    as_batch = lambda d: {"x": torch.from_numpy(d.inputs[branch])}  # noqa: E731
    out = models_dir / f"{branch}.pt"
    with training_log(logs_dir / branch) as live:
        result = fit(model, lambda net, b: net(b["x"]), (as_batch(train), train.y), (as_batch(val), val.y),
                     settings, live, name=branch)
        if live is None:  # not rank 0: nothing to write
            return out
        training = {"settings": asdict(settings), "best_epoch": result.best_epoch, "epochs_run": result.epochs_run,
                    "best_val_macro_auc": result.best_val_macro_auc, "train_records": len(train.y)}
        ckpt = checkpoints.branch_checkpoint(branch, model, arch, classes, labels.task, input_spec(branch), training)
        checkpoints.save(ckpt, out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("branch", choices=BRANCHES)
    args = parser.parse_args()
    params = load_params()
    code = distributed.relaunch(training_settings(params, args.branch)["nproc"], "stages.train", [args.branch])
    if code is not None:
        sys.exit(code)
    train_branch(args.branch, params)
    distributed.finish()


if __name__ == "__main__":
    run_stage(main)
