"""The branches of the multimodal model, in one table: everything else iterates over it.

A branch is a view of the ECG (its input file and dataset), how its input is normalised, its model and
that model's params schema (`train.<name>` in params.yaml, its type in config.sections), and how predict rebuilds
its input from a filtered signal. Models are named here, not imported: a branch's module is imported when its
model is first asked for, so a stage that trains one branch runs (and, in dvc.yaml, depends on) that branch's
model file only. Adding a view means a row here, its model file and its line in dvc.yaml.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ptbxl_multimodal.config.paths import ProjectPaths
from ptbxl_multimodal.config.sections import FreqTransformerConfig, MetaMLPConfig, SpecCNNConfig, TimeConfig
from ptbxl_multimodal.signal.input_spec import InputSpec
from ptbxl_multimodal.signal.spectral import fft_magnitude, spectrogram

if TYPE_CHECKING:  # a model's module is imported by name, when first asked for (see above)
    from ptbxl_multimodal.models.base import BranchModel


@dataclass(frozen=True)
class Branch:
    """One view of the ECG and the model that reads it."""

    name: str
    input_file: str  # a ProjectPaths property: the HDF5 file holding the input
    dataset: str  # the dataset in that file (N, ...)
    norm_axes: tuple[int, ...]  # axes (0 = records) the training-split mean and std are taken over
    module: str  # the model's module (ptbxl_multimodal.models.<...>), imported on first use
    model_name: str  # the model class in that module (a BranchModel)
    config: type  # its architecture's settings type (config.sections): params.yaml train.<name>, less overrides
    from_signal: (
        Callable[[np.ndarray, InputSpec], np.ndarray] | None
    )  # filtered (n, 12, T) -> input; None: not a signal view
    mixable: bool = True  # False: mixup takes this input whole from the dominant partner (see training.loop.mix)
    timed: bool = False  # True: the model is built for the signal's sampling rate (its settings are in seconds)

    @property
    def model(self) -> Callable[..., BranchModel]:
        """The model class (imports its module)."""
        return getattr(importlib.import_module(self.module), self.model_name)

    def input_path(self, paths: ProjectPaths) -> Path:
        return getattr(paths, self.input_file)

    def build(self, input_shape: tuple[int, ...], n_classes: int, config: Any, fs: int | None = None) -> BranchModel:
        """The model, untrained, for inputs of `input_shape` (per record) derived from a signal at `fs` Hz (needed
        by a `timed` branch only)."""
        rate = {"fs": fs} if self.timed else {}
        if self.timed and fs is None:
            raise ValueError(f"the {self.name} branch's model is built for a sampling rate: pass fs")
        return self.model(tuple(input_shape), n_classes, **asdict(config), **rate)


MODELS = "ptbxl_multimodal.models"


def _same(x: np.ndarray, spec: InputSpec) -> np.ndarray:
    return x


def _fft(x: np.ndarray, spec: InputSpec) -> np.ndarray:
    return fft_magnitude(x, spec.fs, spec.fft)  # type: ignore[arg-type]  # set for this view


def _spectrogram(x: np.ndarray, spec: InputSpec) -> np.ndarray:
    return spectrogram(x, spec.fs, spec.spectrogram)[2]  # type: ignore[arg-type]  # set for this view


BRANCHES: dict[str, Branch] = {
    b.name: b
    for b in (
        # per lead over time | per lead and bin | per lead and frequency over frames | per column
        Branch(
            "time",
            "signals",
            "signals",
            (0, 2),
            f"{MODELS}.time.architectures",
            "signal_model",
            TimeConfig,
            _same,
            timed=True,
        ),
        Branch(
            "freq", "fft", "fft", (0,), f"{MODELS}.freq_transformer", "FreqTransformer", FreqTransformerConfig, _fft
        ),
        Branch(
            "spec", "spectrogram", "spectrogram", (0, 3), f"{MODELS}.spec_cnn", "SpecCNN", SpecCNNConfig, _spectrogram
        ),
        # Metadata has missing values (NaN): blending would make a value missing whenever either partner's is
        # (tests/test_training.py: a third missing becomes over half), so it is never blended.
        Branch(
            "meta", "records", "metadata", (0,), f"{MODELS}.meta_mlp", "MetaMLP", MetaMLPConfig, None, mixable=False
        ),
    )
}
BRANCH_NAMES: tuple[str, ...] = tuple(BRANCHES)


def unmixed(names: list[str] | tuple[str, ...]) -> frozenset[str]:
    """Which of the named branches' inputs mixup must not blend."""
    return frozenset(n for n in names if not BRANCHES[n].mixable)


def input_files(paths: ProjectPaths, names: list[str] | tuple[str, ...] = BRANCH_NAMES) -> dict[str, tuple[Path, str]]:
    """(file, dataset) of each named branch's input."""
    return {n: (BRANCHES[n].input_path(paths), BRANCHES[n].dataset) for n in names}
