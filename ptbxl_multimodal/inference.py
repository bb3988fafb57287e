"""Run a trained model (branch or fusion, from its checkpoint) on in-memory inputs."""

from __future__ import annotations

import numpy as np
import torch

from ptbxl_multimodal.checkpoints import model_from_checkpoint
from ptbxl_multimodal.training.loop import predict_logits, resolve_device


def required_inputs(ckpt: dict) -> list[str]:
    """The branch inputs a checkpoint needs."""
    return list(ckpt["branches"]) if ckpt["kind"] == "fusion" else [ckpt["branch"]]


class Predictor:
    """A checkpoint's model, built once, mapping inputs (branch name -> array; extra branches ignored)
    to per-class probabilities (n, C)."""

    def __init__(self, ckpt: dict, batch_size: int = 256, device: str = "auto"):
        self.device = resolve_device(device)
        self.model = model_from_checkpoint(ckpt).to(self.device)
        self.names = required_inputs(ckpt)
        self.batch_size = batch_size
        fusion = ckpt["kind"] == "fusion"
        self.forward = self.model if fusion else (lambda b: self.model(b[self.names[0]]))

    def __call__(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        batch = {n: torch.from_numpy(np.ascontiguousarray(inputs[n], dtype=np.float32)) for n in self.names}
        logits = predict_logits(self.forward, batch, self.batch_size, self.device)
        return torch.sigmoid(logits).numpy().astype(np.float64)


def predict_proba(ckpt: dict, inputs: dict[str, np.ndarray], batch_size: int = 256, device: str = "auto") -> np.ndarray:
    """Per-class probabilities (n, C) for the rows of `inputs` (branch name -> array)."""
    return Predictor(ckpt, batch_size, device)(inputs)
