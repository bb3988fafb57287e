"""scripts/arch_study.py's table, read back from run folders laid out as its `run` leaves them."""

from __future__ import annotations

import json

import yaml

import arch_study
from helpers.project import committed_params

LOG = """Running stage 'train@time':
2026-12-08 00:11:52,000 ptbxl_multimodal.training.loop INFO time: 383 training and 51 validation records
2026-12-08 00:11:55,500 ptbxl_multimodal.training.loop INFO time epoch 1: train loss 0.7, val macro AUC 0.5
2026-12-08 00:11:59,000 ptbxl_multimodal.training.loop INFO time epoch 2: train loss 0.6, val macro AUC 0.6
Running stage 'crossfit@time':
2026-12-08 00:12:30,000 ptbxl_multimodal.training.loop INFO time epoch 1: train loss 0.7, val macro AUC 0.5
Ran experiment(s): clean-run
"""


def make_run(root, k, arch, time_val, time_test, fusion_test):
    project = root / f"rot{k}" / arch
    (project / "metrics/eval").mkdir(parents=True)
    params = committed_params()
    params["train"]["time"].update(arch=arch, crop_seconds=0.0 if arch == "resnet" else 2.5)
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    figures = {
        "time": {"auc": time_test, "val_auc": time_val},
        "fusion": {"auc": fusion_test, "val_auc": 0.9},
        "fusion_vs_best": {"auc": 0.01, "vs": "time", "n_test": 50, "n_train": 400},
    }
    for name, row in figures.items():
        (project / "metrics/eval" / f"{name}.json").write_text(json.dumps(row))
    (root / f"rot{k}" / f"{arch}.log").write_text(LOG)


def test_epoch_seconds_are_read_from_the_train_at_time_stage_only(tmp_path):
    (tmp_path / "run.log").write_text(LOG)
    assert arch_study.epoch_seconds(tmp_path / "run.log") == [3.5, 3.5]


def test_the_table_pairs_each_architecture_with_resnet_by_rotation(tmp_path):
    for k, (base, wang) in enumerate([(0.80, 0.84), (0.85, 0.86), (0.90, 0.93)], start=1):
        make_run(tmp_path, k, "resnet", base + 0.05, base, base + 0.01)
        make_run(tmp_path, k, "resnet1d_wang", wang + 0.05, wang, wang + 0.01)
    text = arch_study.table(tmp_path)
    rows = {line.split(" | ")[0].strip("| "): line for line in text.splitlines() if line.startswith("| res")}
    assert "| 473,349 | 3.5 | 3 |" in rows["resnet1d_wang (2.5 s crops)"]  # the benchmark's size, 3 rotations
    assert "| 0.850 ± 0.050 |" in rows["resnet"]  # resnet's time test AUC over the rotations
    assert "+0.027 [" in rows["resnet1d_wang (2.5 s crops)"] and "(3 of 3)" in rows["resnet1d_wang (2.5 s crops)"]
    assert "Validation macro AUC of the time branch minus resnet's" in text and "resnet1d_wang +0.027" in text
