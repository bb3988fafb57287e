"""Run trained models (branch or fusion, from their checkpoints) on in-memory inputs or on raw signals."""

from __future__ import annotations

import numpy as np

from ptbxl_multimodal.branches import BRANCHES
from ptbxl_multimodal.checkpoints import Checkpoint, FusionCheckpoint, calibration
from ptbxl_multimodal.fusion.checkpoints import model_from_checkpoint
from ptbxl_multimodal.models.runtime import logits, resolve_device
from ptbxl_multimodal.signal.filters import FilterChain, FilterSettings, resample
from ptbxl_multimodal.signal.input_spec import InputSpec


def required_inputs(ckpt: Checkpoint) -> list[str]:
    """The branch inputs a checkpoint needs."""
    return list(ckpt.specs())


def branch_specs(ckpt: Checkpoint) -> dict[str, InputSpec]:
    """The input specification of every branch a checkpoint uses."""
    return ckpt.specs()


def signal_inputs(raw: np.ndarray, raw_fs: int, specs: dict[str, InputSpec]) -> dict[str, np.ndarray]:
    """The signal-derived inputs of a batch of raw records (n, 12, T_raw) at raw_fs, per branch in `specs`.

    Records are resampled to each model's rate, cut to its duration, then filtered and transformed exactly
    as at training time (from the checkpoint's spec, not params.yaml). Branches not derived from the signal
    (metadata) are left out.
    """
    out: dict[str, np.ndarray] = {}
    filtered: dict[tuple[FilterSettings, float], np.ndarray] = {}
    for name, spec in specs.items():
        build = BRANCHES[name].from_signal
        if build is None:
            continue
        filters, duration_s = spec.filters, spec.duration_s
        if filters is None or duration_s is None:
            raise ValueError(f"{name}: the checkpoint's input spec does not say how the signal was filtered")
        key = (filters, duration_s)
        if key not in filtered:
            n = int(round(duration_s * filters.fs))
            filtered[key] = FilterChain(filters)(resample(raw, raw_fs, filters.fs)[..., :n])
        out[name] = build(filtered[key], spec).astype(spec.dtype).astype(np.float32)  # as stored for training
        if out[name].shape[1:] != spec.shape:
            raise ValueError(f"{name} input has shape {out[name].shape[1:]}, the model expects {spec.shape}")
    return out


class Predictor:
    """A checkpoint's model, built once, mapping inputs (branch name -> array; extra branches ignored)
    to per-class logits (n, C) and to probabilities through the checkpoint's calibration."""

    def __init__(self, ckpt: Checkpoint, batch_size: int, device: str = "auto"):
        self.device = resolve_device(device)
        self.calibration = calibration(ckpt)
        self.model = model_from_checkpoint(ckpt).to(self.device)
        self.names = required_inputs(ckpt)
        self.batch_size = batch_size
        fusion = isinstance(ckpt, FusionCheckpoint)
        self.forward = self.model if fusion else (lambda b: self.model(b[self.names[0]]))

    def logits(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        """Uncalibrated logits (float64), as the network outputs them."""
        return logits(self.forward, {n: inputs[n] for n in self.names}, self.batch_size, self.device)

    def __call__(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        """Calibrated probabilities (the checkpoint's calibration; the identity when it has none)."""
        return self.calibration.probabilities(self.logits(inputs))
