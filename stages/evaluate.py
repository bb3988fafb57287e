"""Stage `evaluate`: score every branch and the fusion model on the test split; write metrics, plots, predictions."""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path

import numpy as np

from ptbxl_multimodal import checkpoints
from ptbxl_multimodal.io.atomic import atomic_path, write_json
from ptbxl_multimodal.data.loading import load_split
from ptbxl_multimodal.cli import run_stage
from ptbxl_multimodal.evaluation.scoring import confusion_rows, curve_rows, score
from ptbxl_multimodal.inference import Predictor
from ptbxl_multimodal.config import BRANCHES, load_params
from ptbxl_multimodal.evaluation.report import write_report
from ptbxl_multimodal.errors import StageError

SPLIT = Path("data/splits/split.json")
MODELS = Path("models")
METRICS = Path("metrics/eval")
PLOTS = Path("metrics/plots")
PREDICTIONS = Path("data/predictions/test.csv")
REPORT = Path("reports")
SPLIT_SUMMARY = Path("data/splits/summary.json")
PREPROCESS_REPORT = Path("data/processed/report.json")
TRAIN_LOGS = Path("metrics/train")
log = logging.getLogger(__name__)


def evaluate(params: dict, split_path: Path = SPLIT, models_dir: Path = MODELS, metrics_dir: Path = METRICS,
             plots_dir: Path = PLOTS, predictions_path: Path = PREDICTIONS, report_dir: Path = REPORT) -> dict[str, dict]:
    """Score `time`, `freq`, `spec`, `meta` and `fusion`; return the metrics per model."""
    p = params["evaluate"]
    ckpts = {name: checkpoints.load(models_dir / f"{name}.pt") for name in (*BRANCHES, "fusion")}
    classes = ckpts["fusion"]["classes"]
    split = json.loads(split_path.read_text())
    val, test = load_split(list(BRANCHES), split["val"]), load_split(list(BRANCHES), split["test"])
    probs_val, probs_test, results = {}, {}, {}
    for name, ckpt in ckpts.items():
        if ckpt["classes"] != classes:
            raise StageError(f"{models_dir / name}.pt predicts {ckpt['classes']}, fusion {classes}; rerun `dvc repro`")
        predictor = Predictor(ckpt, p["batch_size"])
        probs_val[name], probs_test[name] = predictor(val.inputs), predictor(test.inputs)
        results[name] = score(test.y, probs_test[name], val.y, probs_val[name], classes, p["bootstrap"], p["seed"])
        r = results[name]
        log.info("%-6s test macro AUC %.4f [%.4f, %.4f]  Fmax %.4f  F1 %.4f", name, r["macro_auc"],
                 r["macro_auc_ci95_low"], r["macro_auc_ci95_high"], r["fmax"], r["macro"]["f1"])

    for name, r in results.items():
        write_json(metrics_dir / f"{name}.json", r)
    with atomic_path(plots_dir) as tmp:
        for i, c in enumerate(classes):
            roc, pr = curve_rows(test.y, probs_test, i)
            _dump(tmp / "roc" / f"{c}.json", roc)
            _dump(tmp / "precision_recall" / f"{c}.json", pr)
        for name in ckpts:
            thresholds = np.array([results[name]["per_class"][c]["threshold"] for c in classes])
            _dump(tmp / "confusion" / f"{name}.json", confusion_rows(test.y, probs_test[name] >= thresholds, classes))
    write_predictions(predictions_path, test.ecg_id, test.y, probs_test, results, classes)
    with atomic_path(report_dir) as tmp:
        write_report(tmp, results, classes, test.y, probs_test, ckpts,
                     json.loads(split_path.with_name(SPLIT_SUMMARY.name).read_text()),
                     json.loads(PREPROCESS_REPORT.read_text()), TRAIN_LOGS, p)
    return results


def _dump(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rows, indent=1) + "\n")


def write_predictions(path: Path, ecg_id: np.ndarray, y: np.ndarray, probs: dict[str, np.ndarray],
                      results: dict[str, dict], classes: list[str]) -> None:
    """One row per (record, model): true labels, probabilities and decisions at the tuned thresholds."""
    header = ["ecg_id", "model"] + [f"{c}_{k}" for c in classes for k in ("true", "prob", "pred")]
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for name, p in probs.items():
            thresholds = [results[name]["per_class"][c]["threshold"] for c in classes]
            for row in range(len(ecg_id)):
                cells = [int(ecg_id[row]), name]
                for i in range(len(classes)):
                    cells += [int(y[row, i]), f"{p[row, i]:.6f}", int(p[row, i] >= thresholds[i])]
                writer.writerow(cells)


def main() -> None:
    evaluate(load_params())


if __name__ == "__main__":
    run_stage(main)
