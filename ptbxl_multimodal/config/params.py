"""The whole of params.yaml, typed and validated at once.

Each section has one settings type, defined beside the code that uses it, whose fields carry their constraints
for pydantic (see `schema`); the values live in params.yaml only, the settings types have no defaults of their own.
A stage loads just the sections it reads (so its code dependencies stay its own); this module assembles
every section, for the check that the whole file is valid and for tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ptbxl_multimodal.branches import BRANCHES
from ptbxl_multimodal.config.reader import raise_if, read_params, subtree, unknown_keys
from ptbxl_multimodal.config.schema import parse
from ptbxl_multimodal.data.feature_files import FeatureSettings
from ptbxl_multimodal.data.fetch import DownloadSettings
from ptbxl_multimodal.data.processed_files import PreprocessSettings
from ptbxl_multimodal.data.splits import SplitSettings
from ptbxl_multimodal.errors import ParamError
from ptbxl_multimodal.evaluation.calibration import CalibrationSettings
from ptbxl_multimodal.evaluation.settings import EvaluateSettings
from ptbxl_multimodal.fusion.crossfit import CrossfitSettings
from ptbxl_multimodal.fusion.train_fusion import FusionParams, parse_fusion_params
from ptbxl_multimodal.training.settings import TrainSettings
from ptbxl_multimodal.training.train_branch import BranchParams, parse_branch_params

SECTIONS: dict[str, type | None] = {  # None: a section with sub-sections of its own
    "download": DownloadSettings,
    "preprocess": PreprocessSettings,
    "features": FeatureSettings,
    "split": SplitSettings,
    "train": None,
    "crossfit": CrossfitSettings,
    "fusion": None,
    "calibration": CalibrationSettings,
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
    evaluate: EvaluateSettings


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
    """Read params.yaml and validate all of it."""
    return validate(read_params(path))
