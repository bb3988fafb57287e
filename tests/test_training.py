"""The training loop: loss goes down, imbalance options act as intended, NaN stops cleanly, runs repeat."""

import numpy as np
import pytest
import torch
from torch import nn

from ptbxl_multimodal.config.sections import CrossfitSettings
from ptbxl_multimodal.config.training import TrainSettings
from ptbxl_multimodal.errors import TrainingError
from ptbxl_multimodal.training.loop import epoch_batches, fit, mix, mixup_partners, pos_weight, sample_weights

Y = np.array([[1, 0], [1, 0], [1, 0], [1, 1]], dtype=np.float32)  # class 0: 4/4, class 1: 1/4


def toy_data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 6)).astype(np.float32)
    y = np.stack([x[:, 0] > 0, x[:, 1] + x[:, 2] > 0.5], axis=1).astype(np.float32)
    return {"x": torch.from_numpy(x)}, y


def settings(**kw):
    base = dict(
        epochs=5,
        batch_size=16,
        lr=0.05,
        weight_decay=0.0,
        scheduler="none",
        patience=5,
        grad_clip=1.0,
        imbalance="none",
        seed=0,
        device="cpu",
        amp=False,
        mixup=0.0,
        threads=0,
        nproc=1,
    )
    base.update(kw)
    return TrainSettings(**base)


def test_pos_weight_is_negatives_over_positives():
    assert torch.allclose(pos_weight(Y), torch.tensor([0.0, 3.0]))


def test_oversampling_weights_favour_rare_classes():
    w = sample_weights(Y)
    assert w[3] > w[0] == w[1] == w[2]
    g = torch.Generator().manual_seed(0)
    drawn = torch.cat(epoch_batches(4000, 4000, g, w)).numpy()
    assert (drawn == 3).mean() > 0.5  # one record in four, drawn more than half of the time


def test_one_training_step_lowers_the_loss():
    torch.manual_seed(0)
    model = nn.Linear(6, 2)
    x, y = toy_data()
    loss_fn = nn.BCEWithLogitsLoss()
    before = loss_fn(model(x["x"]), torch.from_numpy(y)).item()
    fit(model, lambda net, b: net(b["x"]), (x, y), (x, y), settings(epochs=1, batch_size=64))
    assert loss_fn(model(x["x"]), torch.from_numpy(y)).item() < before


def test_pos_weight_changes_the_loss():
    x, y = toy_data()
    results = {}
    for option in ("none", "pos_weight"):
        torch.manual_seed(0)
        model = nn.Linear(6, 2)
        results[option] = fit(model, lambda net, b: net(b["x"]), (x, y), (x, y), settings(epochs=1, imbalance=option))
    assert results["none"].history[0]["train_loss"] != pytest.approx(results["pos_weight"].history[0]["train_loss"])


def test_mix_blends_inputs_and_targets_alike():
    a, b = {"x": torch.tensor([[1.0, 3.0]])}, {"x": torch.tensor([[5.0, -1.0]])}
    batch, target = mix(a, torch.tensor([[1.0, 0.0]]), b, torch.tensor([[0.0, 0.0]]), 0.75)
    assert torch.equal(batch["x"], torch.tensor([[2.0, 2.0]]))
    assert torch.equal(target, torch.tensor([[0.75, 0.0]]))


def test_mixup_partners_permute_the_global_batch():
    batch = torch.tensor([7, 3, 9, 1, 4])
    lam, partners = mixup_partners(batch, 0.2, np.random.default_rng(0), torch.Generator().manual_seed(0))
    assert 0.0 <= lam <= 1.0
    assert sorted(partners.tolist()) == sorted(batch.tolist())
    again = mixup_partners(batch, 0.2, np.random.default_rng(0), torch.Generator().manual_seed(0))
    assert again[0] == lam and torch.equal(again[1], partners)


def _blend_weight(r: np.ndarray, a: np.ndarray, b: np.ndarray) -> float | None:
    """lam with r == lam * a + (1 - lam) * b, or None when r is not on that segment's line."""
    d = a - b
    lam = float(d @ (r - b) / (d @ d))
    return lam if np.allclose(lam * a + (1 - lam) * b, r, atol=1e-5) else None


def test_mixup_trains_on_blends_of_two_training_rows():
    x, y = toy_data(n=16)
    seen = []

    def forward(net, b):
        if net.training:
            seen.append(b["x"].clone())
        return net(b["x"])

    fit(nn.Linear(6, 2), forward, (x, y), (x, y), settings(epochs=1, batch_size=16, mixup=0.4))
    (rows,) = seen
    data = x["x"].numpy()
    lams = []
    for r in rows.numpy():
        assert not any(np.allclose(r, d) for d in data)  # never a raw record ...
        found = {
            round(min(lam, 1 - lam), 4)
            for i, a in enumerate(data)
            for j, b in enumerate(data)
            if i != j
            if (lam := _blend_weight(r, a, b)) is not None
        }
        assert len(found) == 1  # ... but a blend of two
        lams.append(found.pop())
    assert len(set(lams)) == 1  # one mixing weight for the whole batch


def test_mix_takes_unmixed_inputs_whole_from_the_dominant_partner():
    a, b = (
        {"x": torch.tensor([[1.0]]), "meta": torch.tensor([[60.0, np.nan]])},
        {
            "x": torch.tensor([[5.0]]),
            "meta": torch.tensor([[np.nan, 170.0]]),
        },
    )
    for lam, expected in ((0.75, a["meta"]), (0.25, b["meta"])):
        batch, _ = mix(a, torch.ones(1, 1), b, torch.zeros(1, 1), lam, unmixed={"meta"})
        assert torch.equal(batch["meta"].nan_to_num(-1), expected.nan_to_num(-1))
        assert batch["x"].item() == pytest.approx(lam * 1 + (1 - lam) * 5)


def test_mixup_never_adds_missing_metadata():
    """Blending a NaN with a number gives NaN: mixed metadata used to lose values (missing height 64% -> 87%)."""
    x, y = toy_data(n=64)
    meta = np.random.default_rng(1).normal(size=(64, 6)).astype(np.float32)
    meta[::3, 2] = np.nan  # a third of the rows lack column 2
    inputs = {"meta": torch.from_numpy(meta)}
    seen = []

    def forward(net, b):
        if net.training:
            seen.append(b["meta"].clone())
        return net(b["meta"].nan_to_num())

    for unmixed, expect_more_missing in (((), True), ({"meta"}, False)):
        seen.clear()
        fit(nn.Linear(6, 2), forward, (inputs, y), (inputs, y), settings(epochs=3, mixup=0.4), unmixed=unmixed)
        rows = torch.cat(seen).numpy()
        share = np.isnan(rows[:, 2]).mean()
        assert (share > 0.45) == expect_more_missing  # a third missing in the data; ~5/9 once blended
        if not expect_more_missing:  # every row a training row, as it is
            assert all(any(np.array_equal(r, d, equal_nan=True) for d in meta) for r in rows)


def test_fit_selects_the_best_epoch_and_is_deterministic():
    x, y = toy_data()
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        model = nn.Linear(6, 2)
        r = fit(model, lambda net, b: net(b["x"]), (x, y), (x, y), settings(epochs=6, scheduler="onecycle"))
        runs.append(r)
    assert runs[0].best_val_macro_auc == max(h["val_macro_auc"] for h in runs[0].history)
    assert all(torch.equal(runs[0].state_dict[k], runs[1].state_dict[k]) for k in runs[0].state_dict)


def test_nan_loss_stops_with_step_and_advice():
    x, y = toy_data()
    x["x"][5, 0] = float("nan")
    model = nn.Linear(6, 2)
    with pytest.raises(TrainingError, match=r"loss became nan at epoch 1, step \d+.*lower learning rate"):
        fit(model, lambda net, b: net(b["x"]), (x, y), (x, y), settings(batch_size=64))


def test_cuda_requested_without_gpu():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    x, y = toy_data()
    model = nn.Linear(6, 2)
    with pytest.raises(TrainingError, match="no CUDA device"):
        fit(model, lambda net, b: net(b["x"]), (x, y), (x, y), settings(device="cuda"))


def test_relaunch_only_when_asked_and_not_already_distributed(monkeypatch):
    from ptbxl_multimodal.training import distributed

    assert distributed.relaunch(1, "stages.train", ["meta"]) is None
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert distributed.relaunch(2, "stages.train", ["meta"]) is None  # already under torchrun
    assert distributed.shard(torch.arange(5), distributed.Context(1, 2, 1)).tolist() == [3, 4]


def test_training_log_counts_epochs_from_one_and_summarises_the_kept_epoch(tmp_path):
    """metrics.json (what dvc compares) must describe the weights kept, not the last epoch trained."""
    import json

    from dvclive import Live

    from ptbxl_multimodal.training.live_log import summarize_selected
    from ptbxl_multimodal.training.loop import _log_epoch

    history = [
        {
            "epoch": e,
            "train_loss": 1.0 / e,
            "val_loss": 0.5 + 0.01 * e,
            "val_macro_auc": auc,
            "val_precision": 0.5,
            "val_recall": 0.5,
            "val_f1": 0.5,
            "lr": 0.001,
        }
        for e, auc in ((1, 0.70), (2, 0.90), (3, 0.80))
    ]
    live = Live(str(tmp_path / "log"), dvcyaml=False, save_dvc_exp=False, report=None)
    for record in history:
        _log_epoch(live, record)
    summarize_selected(live, history, best_epoch=2)
    live.end()
    summary = json.loads((tmp_path / "log/metrics.json").read_text())
    assert summary["best_epoch"] == 2 and summary["epochs_run"] == 3
    assert summary["val"]["macro_auc"] == 0.90 and summary["train"]["loss"] == 0.5
    steps = (tmp_path / "log/plots/metrics/val/macro_auc.tsv").read_text().splitlines()[1:]
    assert [int(line.split("\t")[0]) for line in steps] == [1, 2, 3]


def test_fold_models_train_for_the_crossfit_epoch_budget_or_the_branch_own():
    branch = settings(epochs=30, lr=0.003)
    assert CrossfitSettings(folds=4, epochs=0).fold_training(branch) == branch
    fold = CrossfitSettings(folds=2, epochs=12).fold_training(branch)
    assert fold.epochs == 12 and fold == settings(epochs=12, lr=0.003)
