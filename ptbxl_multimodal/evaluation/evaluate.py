"""Score every branch and the fusion model on the test split; write metrics, plot data, predictions, report."""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path

import numpy as np
import torch
from scipy.special import expit

from ptbxl_multimodal import checkpoints
from ptbxl_multimodal.branches import BRANCH_NAMES, input_files
from ptbxl_multimodal.config.paths import ProjectPaths
from ptbxl_multimodal.config.sections import EvaluateSettings
from ptbxl_multimodal.data.loading import load_split, read_labels
from ptbxl_multimodal.errors import StageError
from ptbxl_multimodal.evaluation import calibration
from ptbxl_multimodal.evaluation.comparisons import ablation_logits, branch_logits, like_for_like
from ptbxl_multimodal.evaluation.metrics import bootstrap_indices
from ptbxl_multimodal.evaluation.scoring import (
    compact,
    compact_difference,
    confusion_rows,
    curve_rows,
    json_ready,
    paired_differences,
    score,
)
from ptbxl_multimodal.io.atomic import atomic_path, write_json
from ptbxl_multimodal.models.runtime import INFERENCE_BATCH
from ptbxl_multimodal.predict.inference import Predictor
from ptbxl_multimodal.report.examples import explain_examples
from ptbxl_multimodal.report.run_report import write_report

log = logging.getLogger(__name__)
MODELS = (*BRANCH_NAMES, "fusion")


def evaluate(settings: EvaluateSettings, paths: ProjectPaths, references: list[str]) -> dict[str, dict]:
    """Score every branch, the fusion model and the reference comparators named in `references`
    (compare.references) on the test split (calibration and thresholds from the checkpoints, fitted on
    validation; the same bootstrap resamples for every model); return the metrics per model after writing them
    with the paired differences, calibration figures, the plot data, the predictions and the run report."""
    ckpts: dict[str, checkpoints.Checkpoint] = {name: checkpoints.load(paths.model(name)) for name in BRANCH_NAMES}
    ckpts["fusion"] = fusion_ckpt = checkpoints.load_fusion(paths.model("fusion"))
    ckpts |= {name: checkpoints.load_branch(paths.reference(name)) for name in references}
    classes = read_labels(paths.records).classes
    for name, ckpt in ckpts.items():
        if ckpt.classes != classes:
            raise StageError(
                f"{paths.model(name)} predicts {ckpt.classes}, but {paths.records} has {classes}; the model is "
                "older than the data: rerun `dvc repro`"
            )
    split = json.loads(paths.split.read_text())
    files = input_files(paths)
    test = load_split(files, split["test"], paths.records)
    resamples = bootstrap_indices(test.y, settings.bootstrap, settings.seed)
    probs_test, results, boots = {}, {}, {}
    reliability: list[dict] = []
    predictors = {name: Predictor(ckpt, settings.batch_size) for name, ckpt in ckpts.items()}
    test_logits: dict[str, np.ndarray] = {}
    for name, ckpt in ckpts.items():
        logits = test_logits[name] = predictors[name].logits(test.inputs)
        fitted = checkpoints.calibration(ckpt)  # fitted on validation when it was trained
        probs_test[name] = fitted.probabilities(logits)
        thresholds = checkpoints.thresholds(ckpt, paths.model(name))  # tuned on validation when it was trained
        results[name], boots[name] = score(test.y, probs_test[name], thresholds, classes, resamples)
        results[name]["calibration"] = calibration.figures(
            test.y, expit(logits), probs_test[name], settings.calibration_bins, fitted.method, classes, resamples
        )
        reliability += calibration.reliability_rows(test.y, probs_test[name], settings.calibration_bins, name, classes)
        r = results[name]
        log.info(
            "%-6s test macro AUC %.4f [%.4f, %.4f]  Fmax %.4f  F1 %.4f",
            name,
            r["macro_auc"],
            r["macro_auc_ci95_low"],
            r["macro_auc_ci95_high"],
            r["fmax"],
            r["macro"]["f1"],
        )
    results["fusion"]["fusion_minus"] = paired_differences("fusion", results, boots, classes, test.y)  # train@ models
    lfl = compare_like_for_like(fusion_ckpt, predictors["fusion"].model, test_logits, test.inputs, test.y, resamples)
    results["fusion"]["like_for_like"] = lfl
    results["fusion"]["validation_best_branch"] = best = lfl["validation_best"]
    vs_best = lfl["fusion_minus_best"]
    log.info(
        "fusion minus %s (best branch on validation, %s form): %+.4f [%+.4f, %+.4f], not better in %.1f%% of resamples",
        best,
        lfl["form"],
        vs_best["diff"],
        vs_best["ci95_low"],
        vs_best["ci95_high"],
        100 * vs_best["share_le_0"],
    )
    for name, row in lfl["ablations"].items():
        d = row["minus_fusion"]
        log.info("%-16s minus fusion: %+.4f [%+.4f, %+.4f]", name, d["diff"], d["ci95_low"], d["ci95_high"])

    for name, r in results.items():
        arch = getattr(ckpts[name], "architecture", {}).get("arch")  # the signal branch's and the references'
        write_json(paths.eval_metrics / f"{name}.json", compact(r, ckpts[name].training["best_val_macro_auc"]))
        write_json(paths.eval_detail / f"{name}.json", json_ready({**r, "arch": arch} if arch else r))
    split_summary = json.loads(paths.split_summary.read_text())
    row = {**compact_difference(vs_best, len(test.y)), "n_train": split_summary["train"]["records"], "vs": best}
    write_json(paths.eval_vs_best, row)
    for name in references:  # fusion minus each reference comparator, on the same resamples
        vs_reference = results["fusion"]["fusion_minus"][name]["macro_auc"]
        write_json(paths.eval_vs_reference(name), compact_difference(vs_reference, len(test.y)))
        log.info("fusion minus %s (reference): %+.4f [%+.4f, %+.4f]", name, *_interval(vs_reference))
    with atomic_path(paths.eval_ablations) as tmp:
        tmp.mkdir(parents=True)
        for name, row in lfl["ablations"].items():
            write_json(tmp / f"{name}.json", compact_difference(row["minus_fusion"], len(test.y)))
    with atomic_path(paths.plots) as tmp:
        for i, c in enumerate(classes):
            roc, pr = curve_rows(test.y, probs_test, i)
            _dump(tmp / "roc" / f"{c}.json", roc)
            _dump(tmp / "precision_recall" / f"{c}.json", pr)
        for c in classes:
            _dump(tmp / "reliability" / f"{c}.json", [r for r in reliability if r["class"] == c])
        for name in ckpts:
            thresholds = np.array([results[name]["per_class"][c]["threshold"] for c in classes])
            _dump(tmp / "confusion" / f"{name}.json", confusion_rows(test.y, probs_test[name] >= thresholds, classes))
    write_predictions(paths.predictions, test.ecg_id, test.y, probs_test, results, classes)
    fs = ckpts["time"].specs()["time"].fs
    examples = explain_examples(
        predictors["fusion"].model, test.inputs, test.y, probs_test["fusion"], test.ecg_id, classes, fs
    )
    with atomic_path(paths.reports) as tmp:
        write_report(
            tmp,
            results,
            classes,
            test.y,
            probs_test,
            ckpts,
            split_summary,
            json.loads(paths.preprocess_report.read_text()),
            paths.train_logs,
            settings.bootstrap,
            settings.calibration_bins,
            examples,
        )
    return results


def compare_like_for_like(
    fusion_ckpt: checkpoints.FusionCheckpoint,
    fusion: torch.nn.Module,
    test_logits: dict[str, np.ndarray],
    inputs: dict[str, np.ndarray],
    y: np.ndarray,
    resamples: np.ndarray,
) -> dict:
    """evaluation.comparisons for this run's fusion: the stack's own branch modules and refitted ablations, or for
    an embedding head the train@ models (whose test logits are in `test_logits`)."""
    if fusion_ckpt.stacked and fusion_ckpt.stack is not None:
        z = branch_logits(fusion, inputs, INFERENCE_BATCH)
        ablations = ablation_logits(z, fusion_ckpt.stack.get("ablations", {}))
        best, form = fusion_ckpt.stack["best_branch"], fusion_ckpt.head["test_logits"]
    else:
        z = {name: test_logits[name] for name in fusion_ckpt.branches}
        ablations, best, form = {}, checkpoints.validation_best(fusion_ckpt.branches), "train@"
    return {"form": form, **like_for_like(y, test_logits["fusion"], z, ablations, best, resamples)}


def _interval(difference: dict) -> tuple[float, float, float]:
    return difference["diff"], difference["ci95_low"], difference["ci95_high"]


def _dump(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rows, indent=1) + "\n")


def write_predictions(
    path: Path,
    ecg_id: np.ndarray,
    y: np.ndarray,
    probs: dict[str, np.ndarray],
    results: dict[str, dict],
    classes: list[str],
) -> None:
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
