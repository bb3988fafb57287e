"""Every parameter can be set with `dvc exp run -S key=value` (DVC's own override code), lists included."""

import yaml
from dvc.utils.hydra import apply_overrides

from helpers.project import committed_params_text
from ptbxl_multimodal.config.params import validate


def leaves(tree, prefix=""):
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from leaves(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def as_override(value):
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return "[" + ",".join(map(str, value)) + "]"
    return str(value)


def test_every_key_can_be_set_with_dash_s(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text(committed_params_text())
    defaults = yaml.safe_load(params.read_text())
    # A changed but valid value for every leaf, written through DVC's -S machinery in one go.
    changed = {}
    for key, value in leaves(defaults):
        if isinstance(value, bool):
            new = not value
        elif isinstance(value, int):
            new = value + 1
        elif isinstance(value, float):
            new = value / 2
        else:
            new = value
        changed[key] = new
    changed.update(
        {
            "download.source": "/data/ptb-xl",
            "download.sampling_rate": 500,
            "preprocess.fs": 250,
            "preprocess.task": "rhythm",
            "split.method": "stratified",
            "split.train_folds": [1, 2, 3, 4, 5, 6],
            "split.val_folds": [7, 8],
            "split.test_folds": [9, 10],
            "fusion.branches": ["time", "meta"],
            "fusion.method": "gated",
            "features.spectrogram.window": "hamming",
            "train.common.scheduler": "cosine",
            "train.common.imbalance": "oversample",
            "train.common.device": "cpu",
            "train.time.channels": [16, 32, 64, 128],
            "split.ratios.train": 0.7,
            "split.ratios.val": 0.2,
            "split.ratios.test": 0.1,
            "train.freq.heads": 8,
            "train.freq.d_model": 64,
            "features.spectrogram.noverlap": 32,
            "preprocess.bandpass.high": 40.0,
            "train.time.arch": "xresnet1d101",
            "train.time.crop_seconds": 2.5,
            "train.time.window_aggregate": "mean",
            "train.spec.train_crop": 0.5,
        }
    )
    apply_overrides(params, [f"{k}={as_override(v)}" for k, v in changed.items()])
    raw = yaml.safe_load(params.read_text())
    validate(raw)  # every changed value is accepted ...
    assert dict(leaves(raw)) == changed  # ... and reached params.yaml as meant


def test_nested_new_override_key(tmp_path):
    """A branch may gain an override of a common key that its `overrides` do not list yet: DVC wants `+key=value`."""
    params = tmp_path / "params.yaml"
    params.write_text(committed_params_text())
    apply_overrides(params, ["+train.spec.overrides.lr=0.0005", "fusion.branches=[time,freq]"])
    p = validate(yaml.safe_load(params.read_text()))
    assert p.branches["spec"].training.lr == 0.0005 and p.fusion.settings.branches == ["time", "freq"]
    assert p.branches["freq"].training.lr == p.train.lr
