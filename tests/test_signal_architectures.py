"""The signal branch's architectures (`train.time.arch`): the PTB-XL benchmark's reference models against the
benchmark's own layer sizes, and the crops-and-sliding-windows protocol of any of them."""

from __future__ import annotations

from dataclasses import replace
from typing import get_args

import numpy as np
import pytest
import torch

from helpers.project import committed_params
from helpers.sample import SAMPLE
from helpers.settings import defaults, filters
from ptbxl_multimodal import checkpoints
from ptbxl_multimodal.branches import BRANCHES
from ptbxl_multimodal.config.params import BranchParams, validate
from ptbxl_multimodal.config.sections import ReferenceArch
from ptbxl_multimodal.data.labels import make_labels, read_database, read_statements
from ptbxl_multimodal.data.loading import SplitData
from ptbxl_multimodal.data.records import read_record
from ptbxl_multimodal.errors import ParamError
from ptbxl_multimodal.models.time.architectures import REFERENCES
from ptbxl_multimodal.signal.input_spec import InputSpec
from ptbxl_multimodal.training.decisions import fit_decisions
from ptbxl_multimodal.training.train_branch import fit_branch

PARAMS = defaults()
ARCHS = ["resnet", "resnet1d_wang", "xresnet1d101", "inception1d"]

# Parameters of the benchmark's own definitions (helme/ecg_ptbxl_benchmarking, code/models/), worked out from their
# layer sizes for 12 leads and 5 classes, with the head every benchmark model was trained with (create_head1d,
# lin_ftrs_head=[128]: BN(2F) + linear(2F -> 128) + BN(128) + linear(128 -> 5) = 4F + 256F + 128 + 256 + 645).
BENCHMARK_PARAMETERS = {
    # stem conv 12*128*7 + BN 256; three blocks of conv 128*128*5 + conv 128*128*3 + two BNs (131,584 each); two
    # strided shortcuts of conv 128*128 + BN (16,640 each); head at F = 128 (33,797): 10,752 + 256 + 394,752 +
    # 33,280 + 34,309
    "resnet1d_wang": 473_349,
    # stem convs 12*32*5, 32*32*5, 32*64*5 + BNs (17,536); 33 bottlenecks 256 -> 64 -> 64 (k 5) -> 256 with BNs
    # (54,016 each), the first one from 64 channels plus its 64 -> 256 projection (58,624); head at F = 256
    # (67,589): 17,536 + 58,624 + 32 * 54,016 + 67,589
    "xresnet1d101": 1_872_261,
    # six blocks: bottleneck c_in*32, convs 32*32*(39+19+9), pool-conv c_in*32, BN 256 (69,632 from 12 leads,
    # 77,056 from 128 channels); shortcuts 12*128 + BN and 128*128 + BN (1,792 and 16,640); head at F = 128
    # (34,309): 69,632 + 5 * 77,056 + 18,432 + 34,309
    "inception1d": 507_653,
}


def time_config(**changes):
    return replace(PARAMS.branches["time"].architecture, **changes)


def build(arch: str, **changes):
    return BRANCHES["time"].build((12, 1000), 5, time_config(arch=arch, **changes), fs=100)


@pytest.mark.parametrize("arch", list(BENCHMARK_PARAMETERS))
def test_reference_models_have_the_benchmarks_size_and_read_10_and_2_5_seconds(arch):
    model = build(arch)
    count = sum(p.numel() for p in model.parameters())
    assert abs(count - BENCHMARK_PARAMETERS[arch]) <= 0.05 * BENCHMARK_PARAMETERS[arch], count
    model.eval()
    for samples in (1000, 250):  # 10 s and 2.5 s at 100 Hz
        logits = model(torch.randn(3, 12, samples))
        assert logits.shape == (3, 5) and torch.isfinite(logits).all()
    assert model.embed(torch.randn(3, 12, 250)).shape == (3, model.embedding_dim)


@pytest.mark.parametrize("aggregate", ["max", "mean"])
def test_windows_score_a_record_as_the_aggregate_of_its_crops(aggregate):
    """Benchmark protocol: 2.5 s windows every 1.25 s over 10 s (7 windows, the last ending at the end)."""
    model = build("resnet1d_wang", crop_seconds=2.5, window_stride=1.25, window_aggregate=aggregate).eval()
    x = torch.randn(2, 12, 1000)
    with torch.no_grad():
        per_window = torch.stack([model(x[..., s : s + 250]) for s in range(0, 751, 125)], dim=1)
        expected = per_window.amax(dim=1) if aggregate == "max" else per_window.mean(dim=1)
        assert torch.allclose(model(x), expected, atol=1e-5)
        odd = torch.randn(1, 12, 1010)  # windows at 0, 125, ..., 750 and one more ending at the record's end
        ends = [model(odd[..., s : s + 250]) for s in (*range(0, 751, 125), 760)]
        assert torch.allclose(model(odd), torch.stack(ends, dim=1).amax(dim=1) if aggregate == "max" else
                              torch.stack(ends, dim=1).mean(dim=1), atol=1e-5)  # fmt: skip


def test_training_sees_random_crops_and_whole_records_without_the_protocol():
    seen = []
    for crop, expected in ((2.5, 250), (0.0, 1000)):
        model = build("inception1d", crop_seconds=crop).train()
        handle = model.blocks[0].register_forward_hook(lambda m, inp, out: seen.append(inp[0].shape[-1]))
        model(torch.randn(2, 12, 1000))
        handle.remove()
        assert seen.pop() == expected


def test_a_crop_longer_than_the_records_is_refused_naming_the_key():
    with pytest.raises(ParamError, match=r"train\.time\.crop_seconds = 12.0.*between 0.01 and 10 s"):
        build("resnet", crop_seconds=12.0)


def test_a_reference_checkpoint_rebuilds_the_same_model_and_protocol(tmp_path):
    config = time_config(arch="xresnet1d101", crop_seconds=2.5)
    model = BRANCHES["time"].build((12, 1000), 5, config, fs=100).eval()
    spec = _signal_spec()
    ckpt = checkpoints.BranchCheckpoint.of("time", model, config, list("ABCDE"), "superdiagnostic", spec, {})
    y = np.tile(np.eye(5), (2, 1))
    fit_decisions(ckpt, y, np.random.default_rng(0).normal(size=y.shape), "none")
    checkpoints.save(ckpt, tmp_path / "time.pt")
    rebuilt = checkpoints.load_branch(tmp_path / "time.pt").model()
    x = torch.randn(2, 12, 1000)
    with torch.no_grad():
        assert torch.equal(rebuilt(x), model(x))
    assert rebuilt.windows == model.windows and rebuilt.windows is not None


def _signal_spec() -> InputSpec:
    return InputSpec((12, 1000), 100, 10.0, filters(100, bandpass=(0.5, 45.0, 3)))


def committed_records(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The first `n` labelled committed test records (12 x 1000 at 100 Hz) and their superdiagnostic labels."""
    db = read_database(SAMPLE / "ptbxl_database.csv")
    labels = make_labels(db, read_statements(SAMPLE / "scp_statements.csv"), "superdiagnostic")
    ids = labels.ecg_ids[:n]
    x = np.stack([read_record(SAMPLE / db.loc[i, "filename_lr"], expected_fs=100)[0] for i in ids])
    return x.astype(np.float32), labels.y[: len(ids)].astype(np.float32)


@pytest.mark.parametrize("arch", ARCHS)
def test_each_architecture_trains_an_epoch_on_real_records_under_the_benchmark_protocol(arch):
    x, y = committed_records(48)
    train = SplitData(np.arange(32), y[:32], {"time": x[:32]})
    val = SplitData(np.arange(32, 48), y[32:], {"time": x[32:]})
    settings = replace(PARAMS.branches["time"].training, epochs=1, batch_size=16, threads=1)
    params = BranchParams(time_config(arch=arch, crop_seconds=2.5), settings)
    before = BRANCHES["time"].build((12, 1000), y.shape[1], params.architecture, fs=100).state_dict()
    model, result = fit_branch("time", params, train, val, y.shape[1], _signal_spec())
    assert result.best_epoch == 1 and np.isfinite(result.best_val_macro_auc)
    changed = [k for k, v in model.state_dict().items() if v.is_floating_point() and not torch.equal(v, before[k])]
    assert changed, "one epoch updated no weight"
    with torch.no_grad():
        assert torch.isfinite(model.eval()(torch.from_numpy(x[32:]))).all()


def test_the_reference_table_and_the_params_schema_name_the_same_models():
    assert set(REFERENCES) == set(get_args(ReferenceArch))


@pytest.mark.parametrize(
    "references,problem",
    [
        (
            ["resnet1d_wang", "resnet1d_wang"],
            "compare.references = ['resnet1d_wang', 'resnet1d_wang']: a reference is listed twice",
        ),
        (
            ["resnet"],
            "compare.references[0] = 'resnet': must be one of resnet1d_wang, xresnet1d101, inception1d",
        ),  # the project's own CNN is the time branch, not a comparator
    ],
)
def test_compare_references_are_checked(references, problem):
    raw = committed_params()
    raw["compare"]["references"] = references
    with pytest.raises(ParamError) as err:
        validate(raw)
    assert problem in str(err.value)


def test_a_reference_trains_with_the_time_branchs_settings_under_the_compare_protocol():
    raw = committed_params()
    raw["compare"].update(crop_seconds=2.0, window_aggregate="mean")
    params = validate(raw)
    reference = params.reference("inception1d")
    assert reference.training == params.branches["time"].training
    assert (reference.architecture.arch, reference.architecture.crop_seconds) == ("inception1d", 2.0)
    assert reference.architecture.window_aggregate == "mean"


@pytest.mark.parametrize("section", ["train.time", "compare"])
def test_windows_further_apart_than_their_length_are_refused(section):
    raw = committed_params()
    node = raw["train"]["time"] if section == "train.time" else raw["compare"]
    node.update(crop_seconds=2.5, window_stride=3.0)
    with pytest.raises(ParamError, match=rf"{section}\.window_stride = 3: longer than {section}\.crop_seconds = 2\.5"):
        validate(raw)
