"""params.yaml validation: every class of mistake fails early with the key named."""

import copy
import dataclasses
import math

import pytest

from helpers.project import committed_params, committed_params_text
from ptbxl_multimodal.config.params import Params, load_params, validate
from ptbxl_multimodal.errors import ParamError

DEFAULTS = committed_params()


def broken(path: str, value):
    p = copy.deepcopy(DEFAULTS)
    *parents, last = path.split(".")
    node = p
    for key in parents:
        node = node[key]
    node[last] = value
    return p


def test_defaults_are_valid(tmp_path):
    (tmp_path / "params.yaml").write_text(committed_params_text())
    assert load_params(tmp_path / "params.yaml").preprocess.task == "superdiagnostic"


@pytest.mark.parametrize(
    "path,value,message",
    [
        ("train.common.lr", -0.1, "train.common.lr = -0.1: must be a number > 0"),
        ("train.common.epochs", "ten", "train.common.epochs = 'ten': expected an integer"),
        ("train.common.amp", 1, "train.common.amp = 1: expected true/false"),
        ("train.common.epochs", True, "train.common.epochs = True: expected an integer"),
        ("preprocess.task", "superdiag", "preprocess.task = 'superdiag': must be one of superdiagnostic"),
        ("fusion.branches", ["time", "ekg"], "fusion.branches[1] = 'ekg': must be one of time, freq, spec, meta"),
        ("fusion.branches", [], "fusion.branches: must not be empty"),
        ("split.val_folds", [8, 9], "split.train_folds and split.val_folds overlap on fold(s) [8]"),
        ("split.test_folds", [11], "split.test_folds[0] = 11"),
        ("preprocess.bandpass.high", 60.0, "preprocess.bandpass: need 0 < low < high < fs/2 = 50 Hz"),
        ("features.spectrogram.noverlap", 64, "features.spectrogram.noverlap = 64: must be smaller than nperseg"),
        ("download.sampling_rate", 250, "download.sampling_rate = 250: must be one of 100, 500"),
        ("train.freq.heads", 3, "train.freq.d_model = 64: must be divisible by train.freq.heads = 3"),
        ("train.common.threads", -1, "train.common.threads = -1: must be an integer >= 0 or one of share"),
        ("train.common.threads", "half", "train.common.threads = 'half': must be an integer >= 0 or one of share"),
    ],
)
def test_bad_values_name_the_key(path, value, message):
    with pytest.raises(ParamError) as err:
        validate(broken(path, value))
    assert message in str(err.value)


def test_misspelt_key_gets_a_suggestion():
    p = copy.deepcopy(DEFAULTS)
    p["train"]["common"]["learning_rate"] = p["train"]["common"].pop("lr")
    with pytest.raises(ParamError) as err:
        validate(p)
    assert "train.common.learning_rate: unknown key" in str(err.value)
    assert "train.common.lr: missing" in str(err.value)


def test_unknown_section_is_rejected():
    p = copy.deepcopy(DEFAULTS)
    p["trian"] = {}
    with pytest.raises(ParamError, match="trian: unknown key .did you mean 'train'"):
        validate(p)


def test_branch_overrides_common_settings():
    p = copy.deepcopy(DEFAULTS)
    p["train"]["spec"]["overrides"] = {"lr": 0.0005}
    typed = validate(p)
    assert typed.branches["spec"].training.lr == 0.0005
    assert typed.branches["freq"].training.lr == p["train"]["common"]["lr"]


def test_overrides_are_checked_and_the_old_merged_layout_is_refused_by_name():
    p = copy.deepcopy(DEFAULTS)
    p["train"]["spec"]["lr"] = 0.0005  # a train.common key beside the architecture, as before `overrides:`
    p["train"]["meta"]["overrides"] = {"lrr": 0.01}
    p["fusion"]["overrides"]["epochs"] = 0
    with pytest.raises(ParamError) as err:
        validate(p)
    message = str(err.value)
    assert "train.spec.lr: a train.common key; set it under train.spec.overrides" in message
    assert "train.meta.overrides.lrr: unknown key (did you mean 'lr'?)" in message
    assert "fusion.overrides.epochs = 0: must be an integer >= 1" in message
    del p["train"]["freq"]["overrides"]
    with pytest.raises(ParamError, match=r"train\.freq\.overrides: missing"):
        validate(p)


def test_unreadable_file(tmp_path):
    bad = tmp_path / "params.yaml"
    bad.write_text("download: [unclosed\n")
    with pytest.raises(ParamError, match="not valid YAML"):
        load_params(bad)
    with pytest.raises(ParamError, match="not found"):
        load_params(tmp_path / "missing.yaml")


def test_all_problems_are_listed_at_once():
    p = broken("train.common.lr", -1)
    p["preprocess"]["bandpass"]["high"] = 80.0
    p["split"]["val_folds"] = "nine"
    with pytest.raises(ParamError) as err:
        validate(p)
    message = str(err.value)
    assert "train.common.lr = -1" in message and "preprocess.bandpass: need" in message
    assert "split.val_folds = 'nine': expected a list" in message


@pytest.mark.parametrize(
    "path",
    ["preprocess.notch.quality", "download.timeout", "train.meta.dropout", "train.common.lr", "split.ratios.val"],
)
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_nan_and_infinity_are_rejected(path, value):
    with pytest.raises(ParamError) as err:
        validate(broken(path, value))
    assert f"{path} = {value!r}: must be a finite number" in str(err.value)


def _settings_types(cls, seen):
    """Every settings dataclass reachable from `cls` through its field types."""
    import typing

    if cls in seen:
        return
    seen.add(cls)
    for hint in typing.get_type_hints(cls).values():
        for inner in (hint, *typing.get_args(hint)):
            for leaf in (inner, *typing.get_args(inner)):
                if dataclasses.is_dataclass(leaf):
                    _settings_types(leaf, seen)


def test_settings_types_have_no_defaults_of_their_own():
    """params.yaml is the one place values are chosen: no settings type may carry a second default."""
    from ptbxl_multimodal.branches import BRANCHES

    seen: set = set()
    _settings_types(Params, seen)
    for branch in BRANCHES.values():
        _settings_types(branch.config, seen)
    assert len(seen) > 10
    with_defaults = [
        f"{cls.__name__}.{f.name}"
        for cls in seen
        for f in dataclasses.fields(cls)
        if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
    ]
    assert with_defaults == []


def test_every_branch_has_a_params_section_and_nothing_else_does():
    from ptbxl_multimodal.branches import BRANCHES

    p = copy.deepcopy(DEFAULTS)
    p["train"]["ecg"] = {}
    with pytest.raises(ParamError, match="train.ecg: unknown key"):
        validate(p)
    p = copy.deepcopy(DEFAULTS)
    del p["train"][next(iter(BRANCHES))]
    with pytest.raises(ParamError, match=f"train.{next(iter(BRANCHES))}: missing"):
        validate(p)
