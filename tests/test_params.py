"""params.yaml validation: every class of mistake fails early with the key named."""

import copy

import pytest
import yaml

from ptbxl_multimodal.config import load_params, training_settings, validate
from conftest import ROOT
from ptbxl_multimodal.errors import ParamError

DEFAULTS = yaml.safe_load((ROOT / "params.yaml").read_text())


def broken(path: str, value):
    p = copy.deepcopy(DEFAULTS)
    *parents, last = path.split(".")
    node = p
    for key in parents:
        node = node[key]
    node[last] = value
    return p


def test_defaults_are_valid():
    assert load_params(ROOT / "params.yaml")["preprocess"]["task"] == "superdiagnostic"


@pytest.mark.parametrize("path,value,message", [
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
])
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
    p["train"]["spec"]["lr"] = 0.0005
    assert training_settings(validate(p), "spec")["lr"] == 0.0005
    assert training_settings(p, "freq")["lr"] == p["train"]["common"]["lr"]


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
