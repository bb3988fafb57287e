"""Each model's forward pass on real-shaped input, the fusion variants and checkpoint round trips."""

import numpy as np
import pytest
import torch

from helpers.settings import defaults, filters
from ptbxl_multimodal import checkpoints
from ptbxl_multimodal.branches import BRANCHES
from ptbxl_multimodal.errors import StageError
from ptbxl_multimodal.evaluation.calibration import Calibration
from ptbxl_multimodal.evaluation.metrics import tune_thresholds
from ptbxl_multimodal.fusion.heads import FusionHead, FusionModel
from ptbxl_multimodal.predict.inference import Predictor
from ptbxl_multimodal.signal.input_spec import InputSpec
from ptbxl_multimodal.training.decisions import fit_decisions
from ptbxl_multimodal.training.train_branch import validation_logits

PARAMS = defaults()
# Real shapes at the defaults: 10 s at 100 Hz; 501 FFT bins (0-50 Hz); 33 x 59 spectrogram; 4 metadata columns.
SHAPES = {"time": (12, 1000), "freq": (12, 501), "spec": (12, 33, 59), "meta": (4,)}


def architecture(branch):
    return PARAMS.branches[branch].architecture


def build_branch(branch, shape, n_classes, arch):
    return BRANCHES[branch].build(shape, n_classes, arch, fs=100)


def make_inputs(batch=4):
    torch.manual_seed(0)
    x = {b: torch.randn(batch, *s) for b, s in SHAPES.items()}
    x["meta"][0, 2:] = float("nan")  # height and weight unknown
    return x


@pytest.mark.parametrize("branch", list(SHAPES))
def test_branch_forward_and_embedding(branch):
    model = build_branch(branch, SHAPES[branch], 5, architecture(branch)).eval()
    x = make_inputs()[branch]
    logits = model(x)
    assert logits.shape == (4, 5) and torch.isfinite(logits).all()
    assert model.embed(x).shape == (4, architecture(branch).embedding_dim)


def test_time_branch_accepts_other_lengths():
    model = build_branch("time", (12, 1000), 5, architecture("time"))
    assert model.eval()(torch.randn(2, 12, 2500)).shape == (2, 5)  # 250 Hz input, fully convolutional


def test_meta_branch_uses_missing_indicators():
    model = build_branch("meta", (4,), 5, architecture("meta")).eval()
    known = torch.tensor([[60.0, 1.0, 170.0, 70.0]])
    unknown = torch.tensor([[60.0, 1.0, float("nan"), float("nan")]])
    assert not torch.allclose(model(known), model(unknown))
    assert torch.isfinite(model(unknown)).all()


@pytest.mark.parametrize("method", ["concat", "gated", "attention"])
def test_fusion_methods(method):
    branches = {b: build_branch(b, s, 5, architecture(b)) for b, s in SHAPES.items()}
    head = FusionHead([m.embedding_dim for m in branches.values()], 5, method, 32, 0.1, 0.3)
    model = FusionModel(branches, head, freeze_branches=True).eval()
    assert model(make_inputs()).shape == (4, 5)
    model.train()
    assert not any(p.requires_grad for p in model.branches.parameters())
    bn = [m for m in model.branches.modules() if isinstance(m, torch.nn.BatchNorm1d)]
    assert bn and not any(m.training for m in bn)  # frozen statistics even in training mode


def test_branch_dropout_never_hides_every_branch():
    head = FusionHead([3, 3], 2, "concat", 8, 0.0, branch_dropout=0.9).train()
    torch.manual_seed(0)
    dropped = head._drop_branches([torch.ones(1000, 3), torch.ones(1000, 3)])
    visible = (dropped[0].abs().sum(1) > 0) | (dropped[1].abs().sum(1) > 0)
    assert visible.all()


def test_checkpoint_round_trip(tmp_path):
    model = build_branch("time", SHAPES["time"], 5, architecture("time")).eval()
    model.set_normalization(torch.full((12, 1), 0.1), torch.full((12, 1), 2.0))
    spec = InputSpec((12, 1000), 100, 10.0, filters(100, bandpass=(0.5, 45.0, 3)))
    ckpt = checkpoints.BranchCheckpoint.of(
        "time", model, architecture("time"), list("ABCDE"), "superdiagnostic", spec, {"best_epoch": 1}
    )
    ckpt.decisions.fitted(Calibration.identity(5), np.full(5, 0.5))
    checkpoints.save(ckpt, tmp_path / "time.pt")
    loaded = checkpoints.load_branch(tmp_path / "time.pt")
    again = loaded.model()
    x = make_inputs()["time"]
    assert torch.equal(model(x), again(x))
    assert loaded.input_spec == spec and loaded.classes == list("ABCDE") and loaded.decisions.thresholds == [0.5] * 5
    assert torch.equal(again.mean, torch.full((12, 1), 0.1))


def test_checkpoint_errors(tmp_path):
    with pytest.raises(StageError, match=r"model not found; train it with `dvc repro` .* download.source="):
        checkpoints.load(tmp_path / "none.pt")
    torch.save({"something": 1}, tmp_path / "other.pt")
    with pytest.raises(StageError, match=r"other.pt: not a checkpoint of this pipeline; run `dvc repro`"):
        checkpoints.load(tmp_path / "other.pt")
    model = build_branch("time", SHAPES["time"], 5, architecture("time")).eval()
    spec = InputSpec((12, 1000), 100, 10.0, filters(100, bandpass=(0.5, 45.0, 3)))
    ckpt = checkpoints.BranchCheckpoint.of("time", model, architecture("time"), list("ABCDE"), "t", spec, {})
    with pytest.raises(ValueError, match="with its calibration and thresholds"):
        checkpoints.save(ckpt, tmp_path / "undecided.pt")
    assert not (tmp_path / "undecided.pt").exists()


@pytest.mark.parametrize("method", ["none", "platt"])
def test_calibration_and_thresholds_travel_in_the_checkpoint_and_match_the_validation_fit(tmp_path, method):
    """The stored calibration and thresholds are those fitted on the model's logits as evaluate and predict run
    it; a checkpoint of an older format (2: no thresholds, 3: no calibration, 4: the time branch's `train_crop`
    without `arch`) is refused in one line naming the fix."""
    model = build_branch("time", SHAPES["time"], 5, architecture("time")).eval()
    spec = InputSpec((12, 1000), 100, 10.0, filters(100, bandpass=(0.5, 45.0, 3)))
    ckpt = checkpoints.BranchCheckpoint.of(
        "time", model, architecture("time"), list("ABCDE"), "superdiagnostic", spec, {"best_epoch": 1}
    )
    x = make_inputs(batch=40)["time"].numpy()
    y = (np.random.default_rng(0).random((40, 5)) < 0.4).astype(np.float32)
    val_probs = fit_decisions(ckpt, y, validation_logits(ckpt, x), method)
    tuned = checkpoints.thresholds(ckpt, "time.pt")
    probs = Predictor(ckpt, 7, "cpu")({"time": x})  # another batch size: same model, same figures
    np.testing.assert_allclose(probs, val_probs, atol=1e-6)
    np.testing.assert_allclose(tuned, tune_thresholds(y, probs), atol=1e-6)
    assert checkpoints.calibration(ckpt).method == method
    checkpoints.save(ckpt, tmp_path / "time.pt")
    loaded = checkpoints.load(tmp_path / "time.pt")
    np.testing.assert_array_equal(checkpoints.thresholds(loaded, "time.pt"), tuned)
    np.testing.assert_array_equal(Predictor(loaded, 7, "cpu")({"time": x}), probs)

    for version, dropped in (("2", ("thresholds", "calibration")), ("3", ("calibration",)), ("4", ())):
        older = {k: v for k, v in ckpt.to_dict().items() if k not in dropped} | {
            "format": f"ptbxl-multimodal/{version}"
        }
        torch.save(older, tmp_path / "old.pt")
        with pytest.raises(
            StageError, match=rf"old.pt: a checkpoint of an older version .*format ptbxl-multimodal/{version}.*rerun"
        ):
            checkpoints.load(tmp_path / "old.pt")
