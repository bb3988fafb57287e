"""Where models run: the device a setting names, and batched no-grad forward passes (training and inference)."""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
import torch

from ptbxl_multimodal.errors import TrainingError

Batch = dict[str, torch.Tensor]
INFERENCE_BATCH = 256  # records per forward pass when thresholds are tuned (evaluate.batch_size's default)


def resolve_device(name: str) -> torch.device:
    """`auto` -> CUDA when available, else CPU; `cuda` without a GPU is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise TrainingError("train.common.device = cuda, but no CUDA device is available; use auto or cpu")
    return torch.device(name)


def take_batch(inputs: Batch, idx: torch.Tensor, device: torch.device) -> Batch:
    """The rows `idx` of every input, on `device`."""
    return {k: v[idx].to(device, non_blocking=True) for k, v in inputs.items()}


@torch.no_grad()
def predict_logits(
    forward: Callable[[Batch], torch.Tensor], inputs: Batch, batch_size: int, device: torch.device, amp: bool = False
) -> torch.Tensor:
    """Logits for every row of `inputs` (in order), on the CPU as float32."""
    n = next(iter(inputs.values())).shape[0]
    out = []
    for start in range(0, n, batch_size):
        idx = torch.arange(start, min(start + batch_size, n))
        with torch.autocast(device.type, dtype=torch.float16, enabled=amp and device.type == "cuda"):
            out.append(forward(take_batch(inputs, idx, device)).float().cpu())
    return torch.cat(out) if out else torch.zeros(0)


def logits(
    forward: Callable[[Batch], torch.Tensor], inputs: dict[str, np.ndarray], batch_size: int, device: torch.device
) -> np.ndarray:
    """Per-class logits (n, C) as float64 for in-memory inputs (name -> array), in order. Training (to fit
    calibration and thresholds), evaluate and predict all go through here, so their figures agree to the last
    bit."""
    batch = {n: torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)) for n, x in inputs.items()}
    return predict_logits(forward, batch, batch_size, device).numpy().astype(np.float64)


def module_logits(
    modules: dict[str, torch.nn.Module], inputs: dict[str, np.ndarray], batch_size: int
) -> dict[str, np.ndarray]:
    """Logits (n, C) of each single-input module (name -> module, e.g. a fusion's branches) on its own input
    `inputs[name]`, on the CPU, through `logits` (the same batches as every other forward pass)."""
    out = {}
    for name, module in modules.items():
        forward = functools.partial(_forward_x, module.cpu().eval())
        out[name] = logits(forward, {"x": inputs[name]}, batch_size, torch.device("cpu"))
    return out


def _forward_x(module: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    return module(batch["x"])
