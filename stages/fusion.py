"""Stage `fusion`: train a fusion head over the trained branches' embeddings (branches frozen by default)."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

import torch

from ptbxl_multimodal import checkpoints
from ptbxl_multimodal.training import distributed
from ptbxl_multimodal.data.loading import SplitData, load_split
from ptbxl_multimodal.cli import run_stage
from ptbxl_multimodal.models import FusionHead, FusionModel
from ptbxl_multimodal.config import load_params, training_settings
from ptbxl_multimodal.training.loop import TrainSettings, fit
from ptbxl_multimodal.training.live_log import training_log
from ptbxl_multimodal.errors import StageError

SPLIT = Path("data/splits/split.json")


def load_branches(names: list[str], models_dir: Path) -> dict[str, dict]:
    """The branch checkpoints, checked to share one class list."""
    ckpts = {name: checkpoints.load(models_dir / f"{name}.pt") for name in names}
    classes = {tuple(c["classes"]) for c in ckpts.values()}
    if len(classes) != 1:
        raise StageError(f"branch models disagree on the classes ({classes}); rerun the branches with `dvc repro`")
    return ckpts


def train_fusion(params: dict, split_path: Path = SPLIT, models_dir: Path = Path("models"),
                 logs_dir: Path = Path("metrics/train")) -> Path:
    """Train the fusion head on the training split, select on validation, write models/fusion.pt."""
    p = params["fusion"]
    settings = TrainSettings.from_dict(training_settings(params, "fusion"))
    names = list(p["branches"])
    ckpts = load_branches(names, models_dir)
    first = next(iter(ckpts.values()))
    classes = first["classes"]
    branches = {name: checkpoints.branch_from_checkpoint(ckpt) for name, ckpt in ckpts.items()}
    split = json.loads(split_path.read_text())
    train, val = load_split(names, split["train"]), load_split(names, split["val"])
    head_config = {"method": p["method"], "hidden": p["hidden"], "dropout": p["dropout"],
                   "branch_dropout": p["branch_dropout"], "embedding_dims": [branches[n].embedding_dim for n in names],
                   "finetune": p["finetune"]}
    torch.manual_seed(settings.seed)
    head = FusionHead(head_config["embedding_dims"], len(classes), p["method"], p["hidden"], p["dropout"],
                      p["branch_dropout"])
    fusion = FusionModel(branches, head, freeze_branches=not p["finetune"])
    groups = None
    if p["finetune"]:
        # Branch weights move ten times slower than the fresh head.
        groups = [{"params": head.parameters(), "lr": settings.lr},
                  {"params": [w for b in branches.values() for w in b.parameters()], "lr": settings.lr / 10}]

    out = models_dir / "fusion.pt"
    with training_log(logs_dir / "fusion") as live:
        result = fit(fusion, lambda net, b: net(b), (_inputs(train), train.y), (_inputs(val), val.y), settings, live,
                     name="fusion", param_groups=groups)
        if live is None:  # not rank 0: nothing to write
            return out
        training = {"settings": asdict(settings), "best_epoch": result.best_epoch, "epochs_run": result.epochs_run,
                    "best_val_macro_auc": result.best_val_macro_auc, "branches": names}
        checkpoints.save(checkpoints.fusion_checkpoint(fusion, ckpts, head_config, classes, first["task"], training),
                         out)
    return out


def _inputs(d: SplitData) -> dict[str, torch.Tensor]:
    return {n: torch.from_numpy(x) for n, x in d.inputs.items()}


def main() -> None:
    params = load_params()
    code = distributed.relaunch(training_settings(params, "fusion")["nproc"], "stages.fusion", [])
    if code is not None:
        sys.exit(code)
    train_fusion(params)
    distributed.finish()


if __name__ == "__main__":
    run_stage(main)
