"""The training loop shared by the branches and the fusion head: short, explicit, deterministic on the CPU.

Multi-label BCE with optional pos_weight or oversampling; optional mixup; AdamW; one-cycle or cosine
schedule; gradient clipping; early stopping and model selection on validation macro AUC; mixed precision on
CUDA; every epoch logged through an optional dvclive Live object.
"""

from __future__ import annotations

import copy
import logging
import math
import random
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from ptbxl_multimodal.config.training import TrainSettings
from ptbxl_multimodal.errors import TrainingError
from ptbxl_multimodal.evaluation.metrics import macro_auc, summary_at_thresholds
from ptbxl_multimodal.models.runtime import Batch, predict_logits, resolve_device, take_batch
from ptbxl_multimodal.training import distributed
from ptbxl_multimodal.training.cpu_share import CpuShare

log = logging.getLogger(__name__)
ONECYCLE_WARMUP = 0.3  # share of the one-cycle schedule spent raising the learning rate


@dataclass
class FitResult:
    """The selected weights and how training went."""

    state_dict: dict[str, torch.Tensor]
    best_epoch: int
    best_val_macro_auc: float
    epochs_run: int
    history: list[dict[str, float]] = field(default_factory=list)

    def record(self, settings: TrainSettings) -> dict[str, Any]:
        """What a checkpoint keeps about its training: the settings, the selected epoch and the torch thread count
        of each epoch (what a bit-for-bit rerun needs: train.common.threads)."""
        return {
            "settings": asdict(settings),
            "best_epoch": self.best_epoch,
            "epochs_run": self.epochs_run,
            "best_val_macro_auc": self.best_val_macro_auc,
            "threads": [int(r["threads"]) for r in self.history],
        }


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch; deterministic kernels, so CPU runs with the same thread counts repeat exactly."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


def pos_weight(y: np.ndarray) -> torch.Tensor:
    """Per-class negatives/positives on the training split (1 where a class has no positive)."""
    positives = y.sum(axis=0)
    return torch.tensor(
        np.where(positives > 0, (len(y) - positives) / np.maximum(positives, 1), 1.0), dtype=torch.float32
    )


def sample_weights(y: np.ndarray) -> np.ndarray:
    """Oversampling weight per record: the inverse frequency of its rarest positive class."""
    freq = np.maximum(y.mean(axis=0), 1e-12)
    inv = np.where(y > 0, 1.0 / freq, 0.0).max(axis=1)
    return np.where(inv > 0, inv, 1.0 / max(freq.min(), 1e-12))


def epoch_batches(
    n: int, batch_size: int, generator: torch.Generator, weights: np.ndarray | None
) -> list[torch.Tensor]:
    """Index batches for one epoch: a seeded permutation, or weighted sampling with replacement."""
    if weights is None:
        order = torch.randperm(n, generator=generator)
    else:
        order = torch.multinomial(
            torch.as_tensor(weights, dtype=torch.float64), n, replacement=True, generator=generator
        )
    return list(order.split(batch_size))


def mixup_partners(
    batch_idx: torch.Tensor, alpha: float, rng: np.random.Generator, generator: torch.Generator
) -> tuple[float, torch.Tensor]:
    """Mixup (Zhang et al. 2018) for one global batch: lambda ~ Beta(alpha, alpha) and a partner row per row.

    Drawn on the whole batch before sharding, so data-parallel ranks mix exactly as one process would.
    """
    lam = float(rng.beta(alpha, alpha))
    return lam, batch_idx[torch.randperm(len(batch_idx), generator=generator)]


def mix(
    a: Batch,
    a_target: torch.Tensor,
    b: Batch,
    b_target: torch.Tensor,
    lam: float,
    unmixed: Collection[str] = (),
) -> tuple[Batch, torch.Tensor]:
    """lam * a + (1 - lam) * b for the inputs and the (soft) targets alike; inputs named in `unmixed` are
    taken whole from the dominant partner (a if lam >= 0.5), never blended."""
    inputs = {k: (v if lam >= 0.5 else b[k]) if k in unmixed else lam * v + (1.0 - lam) * b[k] for k, v in a.items()}
    return inputs, lam * a_target + (1.0 - lam) * b_target


@dataclass
class Step:
    """What one optimisation step needs, set up once per fit: where it runs, the loss, the optimiser and its
    schedule, and the seeded random streams batches and mixup partners are drawn from."""

    net: nn.Module  # the model, wrapped for data-parallel training where it runs under torchrun
    device: torch.device
    ctx: distributed.Context
    use_amp: bool
    pos_weight: torch.Tensor | None  # per class, or None (settings.imbalance)
    loss_sum: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: Any
    scaler: torch.amp.GradScaler
    generator: torch.Generator
    mix_rng: np.random.Generator
    weights: np.ndarray | None  # oversampling weights per record, or None


def _setup(model: nn.Module, y_train: np.ndarray, settings: TrainSettings, param_groups: list[dict] | None) -> Step:
    """Seed, place the model (wrapped under torchrun), and build the loss, optimiser, schedule and streams."""
    device = resolve_device(settings.device)
    ctx = distributed.init(device)
    if ctx.active and device.type == "cuda":
        device = torch.device("cuda", ctx.local_rank)
    seed_everything(settings.seed)
    use_amp = settings.amp and device.type == "cuda"
    model.to(device)
    net: nn.Module = model
    if ctx.active:
        if device.type == "cuda":
            net = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        net = nn.parallel.DistributedDataParallel(net, device_ids=[device.index] if device.type == "cuda" else None)
    weight = pos_weight(y_train).to(device) if settings.imbalance == "pos_weight" else None
    groups = param_groups or [{"params": [p for p in model.parameters() if p.requires_grad]}]
    optimizer = torch.optim.AdamW(groups, lr=settings.lr, weight_decay=settings.weight_decay)
    return Step(
        net=net,
        device=device,
        ctx=ctx,
        use_amp=use_amp,
        pos_weight=weight,
        loss_sum=nn.BCEWithLogitsLoss(pos_weight=weight, reduction="sum"),
        optimizer=optimizer,
        scheduler=_scheduler(optimizer, settings, math.ceil(len(y_train) / settings.batch_size)),
        scaler=torch.amp.GradScaler("cuda", enabled=use_amp),
        generator=torch.Generator().manual_seed(settings.seed),
        mix_rng=np.random.default_rng(settings.seed),
        weights=sample_weights(y_train) if settings.imbalance == "oversample" else None,
    )


def train_epoch(
    step: Step,
    model: nn.Module,
    forward: Callable[[nn.Module, Batch], torch.Tensor],
    train: tuple[Batch, torch.Tensor],
    settings: TrainSettings,
    name: str,
    epoch: int,
    unmixed: Collection[str] = (),
) -> float:
    """One pass over the training split: the summed training loss per class (over every rank)."""
    x_train, y_train_t = train
    n_classes = y_train_t.shape[1]
    total = 0.0
    step.net.train()
    for i, batch_idx in enumerate(epoch_batches(len(y_train_t), settings.batch_size, step.generator, step.weights), 1):
        idx = distributed.shard(batch_idx, step.ctx)
        batch, target = take_batch(x_train, idx, step.device), y_train_t[idx].to(step.device)
        if settings.mixup > 0:
            lam, partners = mixup_partners(batch_idx, settings.mixup, step.mix_rng, step.generator)
            pidx = distributed.shard(partners, step.ctx)
            partner, partner_target = take_batch(x_train, pidx, step.device), y_train_t[pidx].to(step.device)
            batch, target = mix(batch, target, partner, partner_target, lam, unmixed)
        with torch.autocast(step.device.type, dtype=torch.float16, enabled=step.use_amp):
            summed = step.loss_sum(forward(step.net, batch).float(), target)
        loss = summed * step.ctx.world / (len(batch_idx) * n_classes)
        if not torch.isfinite(loss):
            raise TrainingError(
                f"{name}: the training loss became {loss.item()} at epoch {epoch}, step {i}. Try a lower "
                "learning rate (lr), gradient clipping (train.common.grad_clip > 0) or imbalance: none, and "
                "check the inputs for extreme values. No checkpoint was written; an earlier one is untouched."
            )
        step.optimizer.zero_grad(set_to_none=True)
        step.scaler.scale(loss).backward()
        if settings.grad_clip > 0:
            step.scaler.unscale_(step.optimizer)
            nn.utils.clip_grad_norm_(model.parameters(), settings.grad_clip)
        step.scaler.step(step.optimizer)
        step.scaler.update()
        if step.scheduler is not None:
            step.scheduler.step()
        total += summed.item() / n_classes
    return distributed.all_sum(total, step.device, step.ctx)


def validate(
    step: Step,
    model: nn.Module,
    forward: Callable[[nn.Module, Batch], torch.Tensor],
    val: tuple[Batch, np.ndarray],
    settings: TrainSettings,
) -> dict[str, float]:
    """Validation loss, macro AUC and precision/recall/F1 at 0.5 of the model as it is now. Every rank validates
    on the whole (small) validation split: same weights, same decision."""
    x_val, y_val = val
    model.eval()
    logits = predict_logits(lambda b: forward(model, b), x_val, settings.batch_size * 4, step.device, step.use_amp)
    target = torch.as_tensor(y_val, device=step.device)
    val_loss = nn.BCEWithLogitsLoss(pos_weight=step.pos_weight)(logits.to(step.device), target)
    probs = torch.sigmoid(logits).numpy()
    at_half = summary_at_thresholds(y_val, probs, np.full(y_val.shape[1], 0.5))
    return {
        "val_loss": val_loss.item(),
        "val_macro_auc": macro_auc(y_val, probs),
        **{f"val_{k}": v for k, v in at_half.items() if k != "accuracy"},
    }


@dataclass
class Selection:
    """Keep the epoch with the best validation macro AUC; stop after `patience` epochs without a better one,
    counted only once the learning rate has stopped rising (`warmup` epochs): stopping during a one-cycle
    warm-up would keep a model that never saw the annealing phase."""

    best: FitResult
    patience: int
    warmup: int
    stale: int = 0

    def update(self, epoch: int, auc: float, model: nn.Module) -> bool:
        """Record one epoch's validation AUC (copying the weights if it is the best so far); True: stop now."""
        if auc > self.best.best_val_macro_auc:
            self.best.state_dict = copy.deepcopy(model.state_dict())
            self.best.best_epoch, self.best.best_val_macro_auc, self.stale = epoch, auc, 0
        elif epoch > self.warmup:
            self.stale += 1
        return self.stale >= self.patience


def fit(
    model: nn.Module,
    forward: Callable[[nn.Module, Batch], torch.Tensor],
    train: tuple[Batch, np.ndarray],
    val: tuple[Batch, np.ndarray],
    settings: TrainSettings,
    live: Any = None,
    name: str = "model",
    param_groups: list[dict] | None = None,
    unmixed: Collection[str] = (),
) -> FitResult:
    """Train `model` and return the best weights; `forward(net, batch)` maps a batch dict to logits.

    Each epoch: train (`train_epoch`), validate (`validate`), log (`live`, dvclive, and the log), then the
    selection rule (`Selection`: best validation macro AUC, early stopping). Mixup leaves the inputs named in
    `unmixed` unblended (see `mix`). Under torchrun, every rank draws the same global batch and trains on its
    shard; the shard's loss is scaled so that DDP's gradient average equals the single-process gradient.
    """
    step = _setup(model, train[1], settings, param_groups)
    x_train, y_train = train
    y_train_t = torch.as_tensor(y_train, dtype=torch.float32)
    warmup = math.ceil(ONECYCLE_WARMUP * settings.epochs) if settings.scheduler == "onecycle" else 0
    selection = Selection(FitResult(copy.deepcopy(model.state_dict()), 0, -math.inf, 0), settings.patience, warmup)
    best = selection.best
    with CpuShare(settings.threads) as share:
        if step.ctx.is_main:
            log.info(
                "%s: %d training and %d validation records, up to %d epochs on %s (%d torch threads)",
                *(name, len(y_train), len(val[1]), settings.epochs, step.device, share.threads),
            )
        for epoch in range(1, settings.epochs + 1):
            threads = share.apply()  # a fair share of the cores, counted again every epoch
            total = train_epoch(step, model, forward, (x_train, y_train_t), settings, name, epoch, unmixed)
            record = {
                "epoch": epoch,
                "train_loss": total / len(y_train),
                **validate(step, model, forward, val, settings),
                "lr": step.optimizer.param_groups[0]["lr"],
                "threads": threads,
            }
            best.history.append(record)
            if step.ctx.is_main:
                _log_epoch(live, record)
                log.info(
                    "%s epoch %d: train loss %.4f, val loss %.4f, val macro AUC %.4f",
                    *(name, epoch, record["train_loss"], record["val_loss"], record["val_macro_auc"]),
                )
            if selection.update(epoch, record["val_macro_auc"], model):
                log.info("%s: no better validation macro AUC for %d epochs; stopping", name, selection.stale)
                break
    best.epochs_run = len(best.history)
    model.load_state_dict(best.state_dict)
    model.cpu()
    best.state_dict = {k: v.cpu() for k, v in best.state_dict.items()}
    log.info("%s: best validation macro AUC %.4f at epoch %d", name, best.best_val_macro_auc, best.best_epoch)
    return best


def _scheduler(optimizer: torch.optim.Optimizer, settings: TrainSettings, steps_per_epoch: int):
    total = settings.epochs * steps_per_epoch
    if settings.scheduler == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=[g["lr"] for g in optimizer.param_groups], total_steps=total, pct_start=ONECYCLE_WARMUP
        )
    if settings.scheduler == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total)
    return None


def _log_epoch(live: Any, record: dict[str, float]) -> None:
    if live is None:
        return
    live.step = record["epoch"]  # steps are epochs, 1..N, in the logs and the plots
    live.log_metric("train/loss", record["train_loss"])
    for key in ("loss", "macro_auc", "precision", "recall", "f1"):
        live.log_metric(f"val/{key}", record[f"val_{key}"])
    live.log_metric("lr", record["lr"])
    live.next_step()
