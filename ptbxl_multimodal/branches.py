"""The branches of the multimodal model, in one table: everything else iterates over it.

A branch is a view of the ECG (its input file and dataset), how its input is normalised, its model and
that model's params schema (`train.<name>` in params.yaml), and how predict rebuilds its input from a
filtered signal. Adding a view means a row here, its model file and its line in dvc.yaml.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ptbxl_multimodal.input_spec import InputSpec
from ptbxl_multimodal.models.base import BranchModel
from ptbxl_multimodal.models.freq_transformer import FreqTransformer, FreqTransformerConfig
from ptbxl_multimodal.models.meta_mlp import MetaMLP, MetaMLPConfig
from ptbxl_multimodal.models.spec_cnn import SpecCNN, SpecCNNConfig
from ptbxl_multimodal.models.time_cnn import TimeCNN, TimeCNNConfig
from ptbxl_multimodal.paths import ProjectPaths
from ptbxl_multimodal.signal.spectral import fft_magnitude, spectrogram


@dataclass(frozen=True)
class Branch:
    """One view of the ECG and the model that reads it."""

    name: str
    input_file: str  # a ProjectPaths property: the HDF5 file holding the input
    dataset: str  # the dataset in that file (N, ...)
    norm_axes: tuple[int, ...]  # axes (0 = records) the training-split mean and std are taken over
    model: type[BranchModel]
    config: type  # the architecture's settings type: params.yaml train.<name> without the training keys
    from_signal: (
        Callable[[np.ndarray, InputSpec], np.ndarray] | None
    )  # filtered (n, 12, T) -> input; None: not a signal view
    mixable: bool = True  # False: mixup takes this input whole from the dominant partner (see training.loop.mix)

    def input_path(self, paths: ProjectPaths) -> Path:
        return getattr(paths, self.input_file)

    def build(self, input_shape: tuple[int, ...], n_classes: int, config: Any) -> BranchModel:
        """The model, untrained, for inputs of `input_shape` (per record)."""
        return self.model(tuple(input_shape), n_classes, **asdict(config))


def _fft(x: np.ndarray, spec: InputSpec) -> np.ndarray:
    return fft_magnitude(x, spec.filters.fs, spec.fft)


def _spectrogram(x: np.ndarray, spec: InputSpec) -> np.ndarray:
    return spectrogram(x, spec.filters.fs, spec.spectrogram)[2]


BRANCHES: dict[str, Branch] = {
    b.name: b
    for b in (
        # per lead over time | per lead and bin | per lead and frequency over frames | per column
        Branch("time", "signals", "signals", (0, 2), TimeCNN, TimeCNNConfig, lambda x, spec: x),
        Branch("freq", "fft", "fft", (0,), FreqTransformer, FreqTransformerConfig, _fft),
        Branch("spec", "spectrogram", "spectrogram", (0, 3), SpecCNN, SpecCNNConfig, _spectrogram),
        # Metadata has missing values (NaN): blending would make a value missing whenever either partner's is
        # (tests/test_training.py: a third missing becomes over half), so it is never blended.
        Branch("meta", "records", "metadata", (0,), MetaMLP, MetaMLPConfig, None, mixable=False),
    )
}
BRANCH_NAMES: tuple[str, ...] = tuple(BRANCHES)


def unmixed(names: list[str] | tuple[str, ...]) -> frozenset[str]:
    """Which of the named branches' inputs mixup must not blend."""
    return frozenset(n for n in names if not BRANCHES[n].mixable)


def input_files(paths: ProjectPaths, names: list[str] | tuple[str, ...] = BRANCH_NAMES) -> dict[str, tuple[Path, str]]:
    """(file, dataset) of each named branch's input."""
    return {n: (BRANCHES[n].input_path(paths), BRANCHES[n].dataset) for n in names}
