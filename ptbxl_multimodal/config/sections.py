"""The settings type of every section of params.yaml, in one place: frozen dataclasses whose fields carry their
constraints for pydantic (`schema`), with no defaults of their own (params.yaml is the one place a value is
chosen). The code that reads a section imports its type from here; `params.load_params` assembles them all."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Literal

from pydantic import Field

from ptbxl_multimodal.config.schema import Bool, Float, Int, Str, settings
from ptbxl_multimodal.config.training import TrainSettings
from ptbxl_multimodal.signal.filters import Bandpass, Baseline, FilterSettings, Notch
from ptbxl_multimodal.signal.quality import QualitySettings
from ptbxl_multimodal.signal.spectral import FFTSettings, SpectrogramSettings


@settings
class DownloadSettings:
    """params.yaml `download`: where PTB-XL comes from and how it is fetched."""

    source: Annotated[Str, Field(min_length=1)]  # URL of a PhysioNet-style tree, or a local folder
    sampling_rate: Literal[100, 500]
    workers: Annotated[Int, Field(ge=1)]
    retries: Annotated[Int, Field(ge=0)]
    timeout: Annotated[Float, Field(gt=0)]  # seconds per read
    file_deadline: Annotated[Float, Field(gt=0)]  # seconds for one whole file, whatever the rate
    allow_missing: Bool  # go on without records the source lacks (listed), instead of stopping


Task = Literal["superdiagnostic", "subdiagnostic", "diagnostic", "form", "rhythm", "all"]


Compression = Literal["none", "gzip", "lzf"]


@settings
class PreprocessSettings:
    """params.yaml `preprocess`: target rate, filters, labelling task and how the records are processed."""

    fs: Annotated[Int, Field(ge=50, le=1000)]
    task: Task
    min_class_count: Annotated[Int, Field(ge=0)]
    bandpass: Bandpass
    notch: Notch
    baseline: Baseline
    skip_bad_records: Bool
    quality: QualitySettings
    implausible_metadata: Literal["missing", "error"]  # ages, heights, weights out of range: unknown, or stop
    workers: Annotated[Int, Field(ge=0)]  # 0 = all cores
    chunk_size: Annotated[Int, Field(ge=1)]
    compression: Compression

    @property
    def filters(self) -> FilterSettings:
        return FilterSettings(self.fs, self.bandpass, self.notch, self.baseline)

    def problems(self, path: str) -> list[str]:
        return self.filters.problems(path)


@settings
class FeatureSettings:
    """params.yaml `features`: the FFT and spectrogram views and how they are computed."""

    fft: FFTSettings
    spectrogram: SpectrogramSettings
    workers: Annotated[Int, Field(ge=0)]  # 0 = all cores
    chunk_size: Annotated[Int, Field(ge=1)]
    compression: Literal["none", "gzip", "lzf"]
    dtype: Literal["float32", "float16"]  # how the features are stored (read back as float32)


SPLITS = ("train", "val", "test")


@settings
class Ratios:
    """Shares of patients per split (stratified method)."""

    train: Annotated[Float, Field(ge=0, le=1)]
    val: Annotated[Float, Field(ge=0, le=1)]
    test: Annotated[Float, Field(ge=0, le=1)]


@settings
class SplitSettings:
    """params.yaml `split`: PTB-XL's strat_fold assignment or a stratified split grouped by patient."""

    method: Literal["strat_fold", "stratified"]
    train_folds: Annotated[list[Annotated[Int, Field(ge=1, le=10)]], Field(min_length=1)]
    val_folds: Annotated[list[Annotated[Int, Field(ge=1, le=10)]], Field(min_length=1)]
    test_folds: Annotated[list[Annotated[Int, Field(ge=1, le=10)]], Field(min_length=1)]
    ratios: Ratios
    seed: Annotated[Int, Field(ge=0)]

    def problems(self, path: str) -> list[str]:
        out = []
        folds = {name: set(getattr(self, f"{name}_folds")) for name in SPLITS}
        for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
            if folds[a] & folds[b]:
                out.append(
                    f"{path}.{a}_folds and {path}.{b}_folds overlap on fold(s) {sorted(folds[a] & folds[b])}: "
                    "each strat_fold may belong to one split only"
                )
        shares = (self.ratios.train, self.ratios.val, self.ratios.test)
        if abs(sum(shares) - 1.0) > 1e-6 or min(shares) <= 0:
            out.append(
                f"{path}.ratios: train, val and test must be > 0 and sum to 1 (got train={self.ratios.train}, "
                f"val={self.ratios.val}, test={self.ratios.test})"
            )
        return out


@settings
class CrossfitSettings:
    """params.yaml `crossfit`: how the training split is dealt into groups for out-of-fold logits."""

    folds: Annotated[Int, Field(ge=2)]  # cross-fitting groups of the training split
    epochs: Annotated[Int, Field(ge=0)]  # the fold models' epoch budget; 0 = the branch's own (train.common)

    def fold_training(self, training: TrainSettings) -> TrainSettings:
        """The training settings of a fold model: the branch's, with this epoch budget where one is set."""
        return dataclasses.replace(training, epochs=self.epochs) if self.epochs else training


@dataclasses.dataclass(frozen=True)
class CalibrationSettings:
    """params.yaml `calibration`."""

    method: Literal["none", "temperature", "platt"]  # fitted on validation when each model is trained


@settings
class EvaluateSettings:
    """params.yaml `evaluate`."""

    bootstrap: Annotated[Int, Field(ge=0)]  # resamples for the 95% confidence interval of macro AUC
    seed: Annotated[Int, Field(ge=0)]
    batch_size: Annotated[Int, Field(ge=1)]
    calibration_bins: Annotated[Int, Field(ge=2)]  # equal-width probability bins of ECE and the reliability curves


# The signal branch's architectures (models.time.architectures): the project's, and the PTB-XL benchmark's
ReferenceArch = Literal["resnet1d_wang", "xresnet1d101", "inception1d"]
SignalArch = Literal["resnet", ReferenceArch]


@settings
class TimeConfig:
    """params.yaml `train.time` (architecture keys): which architecture, resnet's size, the scoring protocol."""

    arch: SignalArch  # resnet: this project's CNN (the keys below); the others: the PTB-XL benchmark's, fixed
    channels: Annotated[list[Annotated[Int, Field(ge=1)]], Field(min_length=1)]  # resnet: one stage per entry
    blocks_per_stage: Annotated[Int, Field(ge=1)]
    kernel_size: Annotated[Int, Field(ge=1, le=63)]
    embedding_dim: Annotated[Int, Field(ge=1)]
    dropout: Annotated[Float, Field(ge=0, le=0.95)]
    crop_seconds: Annotated[Float, Field(ge=0)]  # train on random crops, score by sliding windows; 0 = whole record
    window_stride: Annotated[Float, Field(gt=0)]  # seconds between the scoring windows' starts
    window_aggregate: Literal["mean", "max"]  # of the windows' logits, per class

    def problems(self, path: str) -> list[str]:
        return window_problems(self.crop_seconds, self.window_stride, path)


def window_problems(crop_seconds: float, window_stride: float, path: str) -> list[str]:
    """Windows further apart than they are long would leave parts of a record unscored."""
    if crop_seconds and window_stride > crop_seconds:
        return [
            f"{path}.window_stride = {window_stride:g}: longer than {path}.crop_seconds = {crop_seconds:g}, so parts "
            f"of every record would go unscored; set it to at most {crop_seconds:g} s (the benchmark: half a crop)"
        ]
    return []


@settings
class CompareSettings:
    """params.yaml `compare`: reference models trained beside the run as paired comparators of its fusion."""

    # the PTB-XL benchmark's models (models.time.architectures), each trained on the signal as the time branch is
    references: list[ReferenceArch]
    crop_seconds: Annotated[Float, Field(ge=0)]  # their protocol, as train.time's keys (the benchmark: 2.5)
    window_stride: Annotated[Float, Field(gt=0)]
    window_aggregate: Literal["mean", "max"]

    def problems(self, path: str) -> list[str]:
        twice = [f"{path}.references = {self.references}: a reference is listed twice"]
        return (twice if len(set(self.references)) != len(self.references) else []) + window_problems(
            self.crop_seconds, self.window_stride, path
        )

    def architecture(self, time: TimeConfig, name: ReferenceArch) -> TimeConfig:
        """Reference `name`'s architecture settings: the time branch's, with its architecture and this protocol."""
        return dataclasses.replace(
            time,
            arch=name,
            crop_seconds=self.crop_seconds,
            window_stride=self.window_stride,
            window_aggregate=self.window_aggregate,
        )


@settings
class FreqTransformerConfig:
    """params.yaml `train.freq` (architecture keys)."""

    channels: Annotated[Int, Field(ge=1)]
    kernel_size: Annotated[Int, Field(ge=1, le=63)]
    downsample: Annotated[Int, Field(ge=1)]  # stride of the front end over the bins
    d_model: Annotated[Int, Field(ge=1)]
    heads: Annotated[Int, Field(ge=1)]
    layers: Annotated[Int, Field(ge=1)]
    ff_dim: Annotated[Int, Field(ge=1)]
    embedding_dim: Annotated[Int, Field(ge=1)]
    dropout: Annotated[Float, Field(ge=0, le=0.95)]

    def problems(self, path: str) -> list[str]:
        if self.d_model % self.heads:
            return [f"{path}.d_model = {self.d_model}: must be divisible by {path}.heads = {self.heads}"]
        return []


@settings
class SpecCNNConfig:
    """params.yaml `train.spec` (architecture keys)."""

    channels: Annotated[list[Annotated[Int, Field(ge=1)]], Field(min_length=1)]
    kernel_size: Annotated[Int, Field(ge=1, le=15)]
    embedding_dim: Annotated[Int, Field(ge=1)]
    dropout: Annotated[Float, Field(ge=0, le=0.95)]
    train_crop: Annotated[Float, Field(ge=0.05, le=1.0)]  # train on random runs of frames (1 = off)


@settings
class MetaMLPConfig:
    """params.yaml `train.meta` (architecture keys)."""

    hidden: Annotated[list[Annotated[Int, Field(ge=1)]], Field(min_length=1)]
    embedding_dim: Annotated[Int, Field(ge=1)]
    dropout: Annotated[Float, Field(ge=0, le=0.95)]
