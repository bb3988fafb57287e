"""Explanations (report.attributions): integrated gradients on the time branch add up, land on the lead a model
reads, and the fusion's branch contributions add up to its logit; the figure is drawn."""

from __future__ import annotations

import numpy as np
import torch

from helpers.settings import defaults
from ptbxl_multimodal.branches import BRANCHES
from ptbxl_multimodal.data.records import LEADS, read_record
from ptbxl_multimodal.fusion.heads import FusionHead, FusionModel
from ptbxl_multimodal.fusion.stacked import StackedFusion
from ptbxl_multimodal.report.attributions import Explanation, branch_contributions, time_attributions
from ptbxl_multimodal.report.ecg_figure import ecg_figure

PARAMS = defaults()
SHAPES = {"time": (12, 1000), "freq": (12, 501), "spec": (12, 33, 59), "meta": (4,)}


def _branch(name, seed=0):
    torch.manual_seed(seed)
    return BRANCHES[name].build(SHAPES[name], 5, PARAMS.branches[name].architecture, fs=100).eval()


def _record() -> np.ndarray:
    from helpers.variants import original

    x, _ = read_record(original(17))
    return x[None]  # (1, 12, 1000) in mV


def _inputs(n=3):
    torch.manual_seed(1)
    return {b: torch.randn(n, *s).numpy() for b, s in SHAPES.items()}


def test_attributions_add_up_to_the_logit_change_from_a_flat_line():
    model, x = _branch("time"), _record()
    attribution = time_attributions(model, x, 5)
    with torch.no_grad():
        gap = model(torch.from_numpy(x)) - model(torch.zeros_like(torch.from_numpy(x)))
    np.testing.assert_allclose(attribution.sum(axis=(2, 3))[0], gap[0].numpy(), atol=0.05 * gap.abs().max().item())


def test_attributions_land_on_the_only_lead_the_model_reads():
    """A time model whose first convolution reads V2 alone: every other lead gets exactly nothing."""
    model = _branch("time")
    first = next(m for m in model.modules() if isinstance(m, torch.nn.Conv1d))
    with torch.no_grad():
        keep = torch.zeros_like(first.weight)
        keep[:, LEADS.index("V2")] = 1
        first.weight.mul_(keep)
    attribution = time_attributions(model, _record(), 5)
    shares = Explanation(attribution[0], _record()[0], 100.0, {}).lead_shares()
    np.testing.assert_array_equal(shares[:, LEADS.index("V2")], 1.0)


def test_stack_contributions_add_up_to_the_fused_logit():
    branches = {n: _branch(n, i) for i, n in enumerate(SHAPES)}
    weights, intercept = torch.rand(4, 5), torch.randn(5)
    fusion = StackedFusion(branches, weights, intercept).eval()
    inputs = _inputs()
    parts = branch_contributions(fusion, inputs, 5)
    with torch.no_grad():
        fused = fusion({n: torch.from_numpy(v) for n, v in inputs.items()}).numpy()
    np.testing.assert_allclose(sum(parts.values()) + intercept.numpy(), fused, atol=1e-5)


def test_head_contributions_are_the_drop_when_a_branch_is_hidden():
    branches = {n: _branch(n, i) for i, n in enumerate(SHAPES)}
    head = FusionHead([b.embedding_dim for b in branches.values()], 5, "gated", 32, 0.0, 0.5)
    fusion = FusionModel(branches, head).eval()
    inputs = _inputs()
    parts = branch_contributions(fusion, inputs, 5)
    with torch.no_grad():
        embeddings = fusion.embed({n: torch.from_numpy(v) for n, v in inputs.items()})
        full = head(embeddings)
        hidden = [e if b != 2 else torch.zeros_like(e) for b, e in enumerate(embeddings)]
        expected = (full - head(hidden)).numpy()
    name = list(SHAPES)[2]
    np.testing.assert_allclose(parts[name], expected, atol=1e-5)


def test_shares_sum_to_one_and_the_figure_is_written(tmp_path):
    rng = np.random.default_rng(0)
    explanation = Explanation(rng.normal(size=(5, 12, 1000)), rng.normal(size=(12, 1000)), 100.0, {"time": np.ones(5)})
    np.testing.assert_allclose(explanation.lead_shares().sum(axis=1), 1)
    assert explanation.window_shares().shape == (5, 10)
    out = explanation.to_dict(list("ABCDE"))
    assert set(out["per_class"]["A"]["leads"]) == set(LEADS) and len(out["per_class"]["A"]["seconds"]) == 10
    ecg_figure(tmp_path / "r.png", explanation, 0, "record r: A")
    assert (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"


def test_every_record_of_a_batch_is_explained_on_its_own():
    model = _branch("time")
    x = np.random.default_rng(2).normal(size=(2, 12, 1000)).astype(np.float32)
    together = time_attributions(model, x, 5)
    alone = time_attributions(model, x[-1:], 5)
    np.testing.assert_allclose(together[-1], alone[0], atol=1e-5)
