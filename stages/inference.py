"""Run a trained model (branch or fusion, from its checkpoint) on in-memory inputs."""

from __future__ import annotations

import numpy as np
import torch

from .checkpoints import model_from_checkpoint
from .training import predict_logits, resolve_device


def required_inputs(ckpt: dict) -> list[str]:
    """The branch inputs a checkpoint needs."""
    return list(ckpt["branches"]) if ckpt["kind"] == "fusion" else [ckpt["branch"]]


def predict_proba(ckpt: dict, inputs: dict[str, np.ndarray], batch_size: int = 256, device: str = "auto") -> np.ndarray:
    """Per-class probabilities (n, C) for the rows of `inputs` (branch name -> array)."""
    model = model_from_checkpoint(ckpt)
    dev = resolve_device(device)
    model.to(dev)
    names = required_inputs(ckpt)
    batch = {n: torch.from_numpy(np.ascontiguousarray(inputs[n], dtype=np.float32)) for n in names}
    if ckpt["kind"] == "fusion":
        forward = model
    else:
        forward = lambda b: model(b[names[0]])  # noqa: E731
    logits = predict_logits(forward, batch, batch_size, dev)
    return torch.sigmoid(logits).numpy().astype(np.float64)
