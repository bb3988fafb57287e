"""The signal branch's model: the architecture `train.time.arch` names, under the scoring protocol its
`crop_seconds`, `window_stride` and `window_aggregate` set.

`resnet` is this project's residual CNN (its size from the other train.time keys); the others are the PTB-XL
benchmark's reference models (Strodthoff et al. 2020), each fixed to the benchmark's definition, so the resnet keys
do not apply to them. With `crop_seconds` > 0 any of them trains on random crops of that length and scores a
record by sliding windows over it (the benchmark: 2.5 s crops, windows every 1.25 s, the maximum); 0 trains and
scores on the whole record.
"""

from __future__ import annotations

from collections.abc import Callable

from ptbxl_multimodal.errors import ParamError
from ptbxl_multimodal.models.base import BranchModel, SlidingWindows
from ptbxl_multimodal.models.time.inception1d import Inception1d
from ptbxl_multimodal.models.time.residual_cnn import TimeCNN
from ptbxl_multimodal.models.time.resnet1d_wang import ResNet1dWang
from ptbxl_multimodal.models.time.xresnet1d101 import XResNet1d101

REFERENCES: dict[str, Callable[[tuple[int, int], int], BranchModel]] = {
    "resnet1d_wang": ResNet1dWang,
    "xresnet1d101": XResNet1d101,
    "inception1d": Inception1d,
}


def signal_model(
    input_shape: tuple[int, int],
    n_classes: int,
    *,
    arch: str,
    channels: list[int],
    blocks_per_stage: int,
    kernel_size: int,
    embedding_dim: int,
    dropout: float,
    crop_seconds: float,
    window_stride: float,
    window_aggregate: str,
    fs: int,
) -> BranchModel:
    """The `arch` model for (leads, T) input at `fs` Hz, untrained, with its crop-and-window protocol set."""
    if arch == "resnet":
        model: BranchModel = TimeCNN(
            input_shape, n_classes, channels, blocks_per_stage, kernel_size, embedding_dim, dropout
        )
    else:
        model = REFERENCES[arch](input_shape, n_classes)
    model.set_windows(protocol(input_shape[-1], fs, crop_seconds, window_stride, window_aggregate))
    return model


def protocol(
    n_samples: int, fs: int, crop_seconds: float, window_stride: float, window_aggregate: str
) -> SlidingWindows | None:
    """The crops-and-windows protocol in samples at `fs` (None: whole records), checked against the records'
    length."""
    if crop_seconds == 0:
        return None
    length, stride = round(crop_seconds * fs), max(1, round(window_stride * fs))
    if not 1 <= length <= n_samples:
        raise ParamError(
            f"train.time.crop_seconds = {crop_seconds}: a crop of {length} samples at {fs} Hz does not fit the "
            f"records' {n_samples} samples; set it between {1 / fs:g} and {n_samples / fs:g} s (0 = whole records)"
        )
    return SlidingWindows(length, stride, window_aggregate)
