"""The whole of params.yaml, typed and validated at once: `load_params` is the one way stages, scripts and the
whole-file check read it.

Each section's settings type is in `sections` (`train.common` and the per-model `overrides:` in `training`); a
model's section (train.<branch>, fusion) is its own keys plus the train.common keys it overrides, merged before
validation. The values live in params.yaml only: no settings type has defaults of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field

from ptbxl_multimodal.branches import BRANCH_NAMES, BRANCHES
from ptbxl_multimodal.config.reader import raise_if, read_params, subtree, unknown_keys
from ptbxl_multimodal.config.schema import Bool, Float, Int, parse, settings
from ptbxl_multimodal.config.sections import (
    CalibrationSettings,
    CompareSettings,
    CrossfitSettings,
    DownloadSettings,
    EvaluateSettings,
    FeatureSettings,
    PreprocessSettings,
    ReferenceArch,
    SplitSettings,
)
from ptbxl_multimodal.config.training import TrainSettings, parse_with_training
from ptbxl_multimodal.errors import ParamError

BranchName = Literal[BRANCH_NAMES]  # type: ignore[valid-type]  # the branch table's names


@settings
class FusionSettings:
    """params.yaml `fusion` (without the training keys it may override): which branches, and how they are fused."""

    branches: Annotated[list[BranchName], Field(min_length=1)]
    method: Literal["stack", "concat", "gated", "attention"]  # stack: weights on cross-fitted logits
    test_logits: Literal["full", "bagged"]  # stack at test time: the train@ models, or the mean of the fold models
    hidden: Annotated[Int, Field(ge=1)]
    dropout: Annotated[Float, Field(ge=0, le=0.95)]
    branch_dropout: Annotated[Float, Field(ge=0, le=0.9)]  # probability of hiding a whole branch embedding in training
    finetune: Bool  # also update the branch weights (at lr / 10)

    def problems(self, path: str) -> list[str]:
        if len(set(self.branches)) != len(self.branches):
            return [f"{path}.branches = {self.branches}: a branch is listed twice"]
        return []


@dataclass(frozen=True)
class FusionParams:
    """params.yaml `fusion`: the head's settings, and train.common with fusion's overrides applied."""

    settings: FusionSettings
    training: TrainSettings


def parse_fusion_params(raw: dict[str, Any], errors: list[str]) -> FusionParams | None:
    """`fusion` of params.yaml (a plain dict), typed, or None after recording its problems in `errors`."""
    settings, training = parse_with_training(FusionSettings, raw, "fusion", errors)
    return FusionParams(settings, training) if settings and training else None


@dataclass(frozen=True)
class BranchParams:
    """params.yaml `train.<branch>`: the architecture, and train.common with the branch's overrides applied."""

    architecture: Any  # the branch's architecture settings (BRANCHES[name].config, in config.sections)
    training: TrainSettings


def parse_branch_params(raw: dict[str, Any], name: str, errors: list[str]) -> BranchParams | None:
    """train.<name> of params.yaml (a plain dict), typed, or None after recording its problems in `errors`."""
    architecture, training = parse_with_training(BRANCHES[name].config, raw, f"train.{name}", errors)
    return BranchParams(architecture, training) if architecture and training else None


SECTIONS: dict[str, type | None] = {  # None: a section with sub-sections of its own
    "download": DownloadSettings,
    "preprocess": PreprocessSettings,
    "features": FeatureSettings,
    "split": SplitSettings,
    "train": None,
    "crossfit": CrossfitSettings,
    "fusion": None,
    "calibration": CalibrationSettings,
    "compare": CompareSettings,
    "evaluate": EvaluateSettings,
}


@dataclass(frozen=True)
class Params:
    """The whole of params.yaml, typed."""

    download: DownloadSettings
    preprocess: PreprocessSettings
    features: FeatureSettings
    split: SplitSettings
    train: TrainSettings  # train.common
    branches: dict[str, BranchParams]  # train.<branch>: architecture, and train.common with its overrides
    crossfit: CrossfitSettings
    fusion: FusionParams
    calibration: CalibrationSettings
    compare: CompareSettings
    evaluate: EvaluateSettings

    def reference(self, name: ReferenceArch) -> BranchParams:
        """compare.references' `name`: trained on the time branch's input with its training settings."""
        time = self.branches["time"]
        return BranchParams(self.compare.architecture(time.architecture, name), time.training)


def validate(raw: Any) -> Params:
    """Check the whole parameter tree; raise ParamError listing every problem."""
    errors: list[str] = []
    if not isinstance(raw, dict):
        raise ParamError(f"invalid params.yaml: expected a mapping of keys, got {raw!r}")
    unknown_keys("", raw, list(SECTIONS), errors)
    train = subtree(raw, "train", errors)
    if isinstance(train, dict):
        unknown_keys("train.", train, ["common", *BRANCHES], errors)
    elif train is not None:
        errors.append(f"train: expected a mapping of keys, got {train!r}")
    sections = {
        name: parse(cls, subtree(raw, name, errors), name, errors)
        for name, cls in SECTIONS.items()
        if cls is not None and name in raw
    }
    common = parse(TrainSettings, subtree(raw, "train.common", errors), "train.common", errors)
    branches = {name: parse_branch_params(raw, name, errors) for name in BRANCHES}
    fusion = parse_fusion_params(raw, errors)
    for name in SECTIONS:
        if name not in raw:
            errors.append(f"{name}: missing (add it to params.yaml)")
    raise_if(errors)
    return Params(train=common, branches=branches, fusion=fusion, **sections)  # type: ignore[arg-type]


def load_params(path: str | Path = "params.yaml") -> Params:
    """Read params.yaml and validate all of it: every problem is raised at once (ParamError), one line each."""
    return validate(read_params(path))
