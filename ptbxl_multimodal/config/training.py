"""How a model is trained: params.yaml `train.common`, and the keys of it that a branch (or `fusion`) overrides
under its own `overrides:`."""

from __future__ import annotations

import dataclasses
import typing
from typing import Annotated, Any, Literal

from pydantic import Field, with_config
from typing_extensions import TypedDict

from ptbxl_multimodal.config.reader import subtree
from ptbxl_multimodal.config.schema import CONFIG, Bool, Float, Int, parse, settings


@settings
class TrainSettings:
    """The training loop's settings for one model (train.common merged with that model's overrides)."""

    epochs: Annotated[Int, Field(ge=1)]
    batch_size: Annotated[Int, Field(ge=1)]
    lr: Annotated[Float, Field(gt=0)]
    weight_decay: Annotated[Float, Field(ge=0)]
    scheduler: Literal["onecycle", "cosine", "none"]
    patience: Annotated[Int, Field(ge=1)]  # epochs without a better validation macro AUC (after warm-up)
    grad_clip: Annotated[Float, Field(ge=0)]  # max gradient norm; 0 = off
    mixup: Annotated[Float, Field(ge=0)]  # Beta(alpha, alpha) of mixup; 0 = off
    imbalance: Literal["none", "pos_weight", "oversample"]
    seed: Annotated[Int, Field(ge=0)]
    device: Literal["auto", "cpu", "cuda"]
    amp: Bool  # mixed precision on CUDA
    # torch CPU threads: N, 0 = torch's default here (the physical cores), or "share" (cores / training processes
    # running here, counted every epoch: faster side by side, but results then depend on what else runs)
    threads: Annotated[Int, Field(ge=0)] | Literal["share"]
    nproc: Annotated[Int, Field(ge=1)]  # data-parallel processes; 1 = off


# The train.common keys a model may set its own way, under `overrides:` in its own section (all optional).
_OVERRIDABLE = typing.get_type_hints(TrainSettings, include_extras=True)
TrainOverrides: Any = with_config(CONFIG)(TypedDict("TrainOverrides", _OVERRIDABLE, total=False))  # type: ignore[operator]
_SECTIONS: dict[type, type] = {}


def _section(cls: type) -> type:
    """`cls`'s keys plus `overrides`: what train.<branch> and fusion hold (one type per settings type)."""
    if cls not in _SECTIONS:
        fields = [("overrides", TrainOverrides)]
        _SECTIONS[cls] = dataclasses.make_dataclass(f"{cls.__name__}Section", fields, bases=(cls,), frozen=True)
    return _SECTIONS[cls]


def parse_with_training(
    cls: Any, raw: dict[str, Any], path: str, errors: list[str]
) -> tuple[Any, TrainSettings | None]:
    """A section (train.<branch> or fusion) holding `cls`'s keys and, under `overrides`, the train.common keys
    this model sets its own way: the section's settings, and train.common with those overrides applied."""
    common = parse(TrainSettings, subtree(raw, "train.common", errors), "train.common", errors)
    values = subtree(raw, path, errors)
    if isinstance(values, dict):  # the layout before `overrides:` merged train.common keys in by name
        own_keys = {f.name for f in dataclasses.fields(cls)}
        moved = [k for k in values if k in _OVERRIDABLE and k not in own_keys]
        errors.extend(f"{path}.{k}: a train.common key; set it under {path}.overrides" for k in moved)
        values = {k: v for k, v in values.items() if k not in moved}
    section = parse(_section(cls), values, path, errors) if values is not None else None
    if section is None:
        return None, None
    own = cls(**{f.name: getattr(section, f.name) for f in dataclasses.fields(cls)})
    return own, dataclasses.replace(common, **section.overrides) if common is not None else None
