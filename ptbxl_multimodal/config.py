"""Load and validate params.yaml before any stage does work.

Every key has a declared type and allowed range, so a misspelt key, a wrong type or an impossible
value fails at once with a message naming the key and what is allowed, instead of deep inside a
stage after minutes of work.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from ptbxl_multimodal.errors import ParamError, PipelineError


BRANCHES = ("time", "freq", "spec", "meta")
TASKS = ("superdiagnostic", "subdiagnostic", "diagnostic", "form", "rhythm", "all")


@dataclass(frozen=True)
class Field:
    """One parameter: its type, and optional choices, bounds or element type for lists."""

    kind: type | tuple[type, ...]
    choices: tuple[Any, ...] | None = None
    min: float | None = None
    max: float | None = None
    min_exclusive: bool = False
    item: Field | None = None  # element spec for lists
    nonempty: bool = False
    optional: bool = False  # key may be absent (falls back to a default elsewhere)

    def describe(self) -> str:
        """Say in words what values are allowed."""
        if self.choices is not None:
            return "one of " + ", ".join(map(str, self.choices))
        name = _type_name(self.kind)
        if self.kind is list and self.item is not None:
            name = f"a list of {self.item.describe()}"
        bounds = []
        if self.min is not None:
            bounds.append(f"{'>' if self.min_exclusive else '>='} {self.min}")
        if self.max is not None:
            bounds.append(f"<= {self.max}")
        return name + (" " + " and ".join(bounds) if bounds else "")


def _type_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if set(kinds) == {int, float}:
        return "a number"
    names = {int: "an integer", float: "a number", str: "a string", bool: "true/false", list: "a list"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


NUM = (int, float)
POS_INT = Field(int, min=1)
NONNEG_INT = Field(int, min=0)
POS_NUM = Field(NUM, min=0, min_exclusive=True)
NONNEG_NUM = Field(NUM, min=0)
PROB = Field(NUM, min=0, max=1)
BOOL = Field(bool)
FOLDS = Field(list, item=Field(int, min=1, max=10), nonempty=True)
INT_LIST = Field(list, item=POS_INT, nonempty=True)

# Shared training settings; each branch (and fusion) may override any of them.
TRAIN_COMMON = {
    "epochs": POS_INT,
    "batch_size": POS_INT,
    "lr": POS_NUM,
    "weight_decay": NONNEG_NUM,
    "scheduler": Field(str, choices=("onecycle", "cosine", "none")),
    "patience": POS_INT,
    "grad_clip": NONNEG_NUM,
    "mixup": NONNEG_NUM,
    "imbalance": Field(str, choices=("none", "pos_weight", "oversample")),
    "seed": NONNEG_INT,
    "device": Field(str, choices=("auto", "cpu", "cuda")),
    "amp": BOOL,
    "threads": NONNEG_INT,
    "nproc": POS_INT,
}

ARCHITECTURES = {
    "time": {
        "channels": INT_LIST,
        "blocks_per_stage": POS_INT,
        "kernel_size": Field(int, min=1, max=63),
        "embedding_dim": POS_INT,
        "dropout": Field(NUM, min=0, max=0.95),
        "train_crop": Field(NUM, min=0.05, max=1.0),
    },
    "freq": {
        "channels": POS_INT,
        "kernel_size": Field(int, min=1, max=63),
        "downsample": POS_INT,
        "d_model": POS_INT,
        "heads": POS_INT,
        "layers": POS_INT,
        "ff_dim": POS_INT,
        "embedding_dim": POS_INT,
        "dropout": Field(NUM, min=0, max=0.95),
    },
    "spec": {
        "channels": INT_LIST,
        "kernel_size": Field(int, min=1, max=15),
        "embedding_dim": POS_INT,
        "dropout": Field(NUM, min=0, max=0.95),
        "train_crop": Field(NUM, min=0.05, max=1.0),
    },
    "meta": {
        "hidden": INT_LIST,
        "embedding_dim": POS_INT,
        "dropout": Field(NUM, min=0, max=0.95),
    },
}


def _optional(spec: dict[str, Field]) -> dict[str, Field]:
    return {k: Field(**{**v.__dict__, "optional": True}) for k, v in spec.items()}


SCHEMA: dict[str, Any] = {
    "download": {
        "source": Field(str, nonempty=True),
        "sampling_rate": Field(int, choices=(100, 500)),
        "workers": POS_INT,
        "retries": NONNEG_INT,
        "timeout": POS_NUM,
    },
    "preprocess": {
        "fs": Field(int, min=50, max=1000),
        "task": Field(str, choices=TASKS),
        "min_class_count": NONNEG_INT,
        "bandpass": {"enabled": BOOL, "low": POS_NUM, "high": POS_NUM, "order": Field(int, min=1, max=10)},
        "notch": {"enabled": BOOL, "freq": POS_NUM, "quality": POS_NUM},
        "baseline": {"enabled": BOOL, "window1": POS_NUM, "window2": POS_NUM},
        "skip_bad_records": BOOL,
        "workers": NONNEG_INT,
        "chunk_size": POS_INT,
        "compression": Field(str, choices=("none", "gzip", "lzf")),
    },
    "features": {
        "fft": {"log": BOOL, "max_freq": POS_NUM},
        "spectrogram": {
            "window": Field(str, choices=("hann", "hamming", "blackman", "boxcar")),
            "nperseg": Field(int, min=4),
            "noverlap": NONNEG_INT,
            "log": BOOL,
            "phase": BOOL,
        },
        "workers": NONNEG_INT,
        "chunk_size": POS_INT,
        "compression": Field(str, choices=("none", "gzip", "lzf")),
    },
    "split": {
        "method": Field(str, choices=("strat_fold", "stratified")),
        "train_folds": FOLDS,
        "val_folds": FOLDS,
        "test_folds": FOLDS,
        "ratios": {"train": PROB, "val": PROB, "test": PROB},
        "seed": NONNEG_INT,
    },
    "train": {
        "common": TRAIN_COMMON,
        **{b: {**arch, **_optional(TRAIN_COMMON)} for b, arch in ARCHITECTURES.items()},
    },
    "fusion": {
        "branches": Field(list, item=Field(str, choices=BRANCHES), nonempty=True),
        "method": Field(str, choices=("concat", "gated", "attention")),
        "hidden": POS_INT,
        "dropout": Field(NUM, min=0, max=0.95),
        "branch_dropout": Field(NUM, min=0, max=0.9),
        "finetune": BOOL,
        **_optional(TRAIN_COMMON),
    },
    "evaluate": {
        "bootstrap": NONNEG_INT,
        "seed": NONNEG_INT,
        "batch_size": POS_INT,
    },
}


def _check_value(path: str, value: Any, field: Field, errors: list[str]) -> None:
    kinds = field.kind if isinstance(field.kind, tuple) else (field.kind,)
    # bool is a subclass of int in Python; never accept true/false where a number is meant.
    is_bool = isinstance(value, bool)
    if (is_bool and bool not in kinds) or not isinstance(value, kinds):
        errors.append(f"{path} = {value!r}: expected {field.describe()}")
        return
    if field.choices is not None and value not in field.choices:
        errors.append(f"{path} = {value!r}: must be {field.describe()}")
        return
    if isinstance(value, (int, float)) and not is_bool:
        too_low = field.min is not None and (value <= field.min if field.min_exclusive else value < field.min)
        too_high = field.max is not None and value > field.max
        if too_low or too_high:
            errors.append(f"{path} = {value!r}: must be {field.describe()}")
    if isinstance(value, (list, str)) and field.nonempty and len(value) == 0:
        errors.append(f"{path}: must not be empty")
    if isinstance(value, list) and field.item is not None:
        for i, v in enumerate(value):
            _check_value(f"{path}[{i}]", v, field.item, errors)


def _check_tree(prefix: str, values: Any, schema: dict[str, Any], errors: list[str]) -> None:
    if not isinstance(values, dict):
        errors.append(f"{prefix or 'params.yaml'}: expected a mapping of keys, got {values!r}")
        return
    for key in values:
        if key not in schema:
            hint = difflib.get_close_matches(str(key), list(schema), n=1)
            allowed = f"did you mean '{hint[0]}'?" if hint else "allowed keys: " + ", ".join(schema)
            errors.append(f"{prefix}{key}: unknown key ({allowed})")
    for key, spec in schema.items():
        path = f"{prefix}{key}"
        if key not in values:
            if not (isinstance(spec, Field) and spec.optional):
                errors.append(f"{path}: missing (add it to params.yaml)")
            continue
        if isinstance(spec, dict):
            _check_tree(path + ".", values[key], spec, errors)
        else:
            _check_value(path, values[key], spec, errors)


def _check_filters(p: dict[str, Any], errors: list[str]) -> None:
    pre = p["preprocess"]
    nyquist = pre["fs"] / 2
    bp = pre["bandpass"]
    if bp["enabled"] and not bp["low"] < bp["high"] < nyquist:
        errors.append(
            f"preprocess.bandpass: need 0 < low < high < fs/2 = {nyquist:g} Hz "
            f"(got low={bp['low']}, high={bp['high']}); lower preprocess.bandpass.high or raise preprocess.fs"
        )
    if pre["notch"]["enabled"] and not pre["notch"]["freq"] < nyquist:
        errors.append(f"preprocess.notch.freq = {pre['notch']['freq']}: must be below fs/2 = {nyquist:g} Hz")
    bl = pre["baseline"]
    if bl["enabled"] and not bl["window1"] < bl["window2"]:
        errors.append("preprocess.baseline: window1 must be shorter than window2 (seconds)")


def _check_spectrogram(p: dict[str, Any], errors: list[str]) -> None:
    spec = p["features"]["spectrogram"]
    if spec["noverlap"] >= spec["nperseg"]:
        errors.append(
            f"features.spectrogram.noverlap = {spec['noverlap']}: must be smaller than nperseg = {spec['nperseg']}"
        )


def _check_split(p: dict[str, Any], errors: list[str]) -> None:
    sp = p["split"]
    folds = {name: set(sp[f"{name}_folds"]) for name in ("train", "val", "test")}
    for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
        if folds[a] & folds[b]:
            errors.append(
                f"split.{a}_folds and split.{b}_folds overlap on fold(s) {sorted(folds[a] & folds[b])}: "
                "each strat_fold may belong to one split only"
            )
    ratios = sp["ratios"]
    if abs(sum(ratios.values()) - 1.0) > 1e-6 or min(ratios.values()) <= 0:
        errors.append(f"split.ratios: train, val and test must be > 0 and sum to 1 (got {ratios})")


def _check_models(p: dict[str, Any], errors: list[str]) -> None:
    if len(set(p["fusion"]["branches"])) != len(p["fusion"]["branches"]):
        errors.append(f"fusion.branches = {p['fusion']['branches']}: a branch is listed twice")
    freq = p["train"]["freq"]
    if freq["d_model"] % freq["heads"]:
        errors.append(
            f"train.freq.d_model = {freq['d_model']}: must be divisible by train.freq.heads = {freq['heads']}"
        )


CROSS_KEY_RULES = (_check_filters, _check_spectrogram, _check_split, _check_models)


def _check_consistency(p: dict[str, Any], errors: list[str]) -> None:
    """Rules that involve more than one key; a rule whose own keys are malformed is skipped
    (those keys are already reported), so one run lists every problem."""
    for rule in CROSS_KEY_RULES:
        try:
            rule(p, errors)
        except (KeyError, TypeError, ValueError, ZeroDivisionError, AttributeError):
            continue


def validate(params: dict[str, Any]) -> dict[str, Any]:
    """Check the whole parameter tree; raise ParamError listing every problem."""
    errors: list[str] = []
    _check_tree("", params, SCHEMA, errors)
    _check_consistency(params, errors)
    if errors:
        raise ParamError("invalid params.yaml:\n  - " + "\n  - ".join(errors))
    return params


def load_params(path: str | Path = "params.yaml") -> dict[str, Any]:
    """Read params.yaml and validate it."""
    path = Path(path)
    try:
        with open(path) as fh:
            params = yaml.safe_load(fh)
    except FileNotFoundError:
        raise ParamError(f"{path}: not found; run the stage from the project root") from None
    except yaml.YAMLError as exc:
        raise ParamError(f"{path}: not valid YAML: {exc}") from None
    return validate(params or {})


def training_settings(params: dict[str, Any], section: str) -> dict[str, Any]:
    """train.common merged with the overrides of one branch (train.<branch>) or of `fusion`."""
    own = params["fusion"] if section == "fusion" else params["train"][section]
    merged = dict(params["train"]["common"])
    merged.update({k: v for k, v in own.items() if k in TRAIN_COMMON})
    return merged


def architecture(params: dict[str, Any], branch: str) -> dict[str, Any]:
    """The architecture keys of one branch (without the training overrides)."""
    return {k: v for k, v in params["train"][branch].items() if k in ARCHITECTURES[branch]}
