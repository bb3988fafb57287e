"""A human-readable report of one run: Markdown plus PNG figures (matplotlib), written by `evaluate`.

Everything in it comes from the run's own outputs (checkpoints, split summary, preprocessing
report, training logs, test predictions), so it is reproduced with the run.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import pandas as pd
from sklearn.metrics import roc_curve

from ptbxl_multimodal.branches import BRANCH_NAMES
from ptbxl_multimodal.checkpoints import BranchCheckpoint, Checkpoint, FusionCheckpoint
from ptbxl_multimodal.report.examples import Example, explain_section
from ptbxl_multimodal.report.figure_files import class_panels, save
from ptbxl_multimodal.report.reliability import calibration_section, reliability_figure
from ptbxl_multimodal.report.views import views_section


def _fmt(x: float | None, digits: int = 3) -> str:
    return "n/a" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.{digits}f}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def roc_figure(path: Path, y: np.ndarray, probs: dict[str, np.ndarray], classes: list[str]) -> None:
    """One panel per class, one ROC line per model."""

    def draw(ax: plt.Axes, i: int) -> None:
        for name, p in probs.items():
            if 0 < y[:, i].sum() < len(y):
                fpr, tpr, _ = roc_curve(y[:, i], p[:, i])
                ax.plot(fpr, tpr, label=name, lw=1.2)

    class_panels(path, classes, draw, "false positive rate", "true positive rate")


def confusion_figure(path: Path, results: dict[str, dict], classes: list[str]) -> None:
    """2x2 confusion counts per class (columns) and model (rows), at the validation-tuned thresholds."""
    models = list(results)
    fig, axes = plt.subplots(len(models), len(classes), figsize=(1.9 * len(classes), 1.9 * len(models)), squeeze=False)
    for r, m in enumerate(models):
        for c, name in enumerate(classes):
            pc = results[m]["per_class"][name]
            grid = np.array([[pc["tn"], pc["fp"]], [pc["fn"], pc["tp"]]])
            ax = axes[r][c]
            ax.imshow(grid, cmap="Blues", vmin=0)
            for (a, b), v in np.ndenumerate(grid):  # white on dark cells, black on light ones
                color = "white" if v > grid.max() / 2 else "black"
                ax.text(b, a, str(v), ha="center", va="center", fontsize=10, color=color)
            ax.set_xticks([0, 1], ["no", "yes"], fontsize=7)
            ax.set_yticks([0, 1], ["no", "yes"], fontsize=7)
            if r == len(models) - 1:
                ax.set_xlabel("predicted", fontsize=8)
            if r == 0:
                ax.set_title(name, fontsize=9)
            if c == 0:
                ax.set_ylabel(f"{m}\nactual", fontsize=9)
    fig.tight_layout()
    save(fig, path)


def training_figure(path: Path, logs_dir: Path, models: list[str]) -> None:
    """Training loss and validation macro AUC per epoch, from the dvclive logs."""
    fig, (loss_ax, auc_ax) = plt.subplots(1, 2, figsize=(10, 3.5))
    for m in models:
        base = logs_dir / m / "plots" / "metrics"
        for ax, rel in ((loss_ax, "train/loss.tsv"), (auc_ax, "val/macro_auc.tsv")):
            if (base / rel).is_file():
                d = pd.read_csv(base / rel, sep="\t")  # columns: step (= epoch, 1..N), <metric>
                ax.plot(d["step"], d[d.columns[-1]], label=m)
    loss_ax.set(title="training loss (on mixed-up batches when mixup > 0)", xlabel="epoch")
    auc_ax.set(title="validation macro AUC", xlabel="epoch")
    for ax in (loss_ax, auc_ax):
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    auc_ax.legend(fontsize=7)
    fig.tight_layout()
    save(fig, path)


def _stack_section(ckpt: FusionCheckpoint) -> list[str]:
    """How the stacked fusion combines the branches, and why (empty for an embedding head)."""
    stack = ckpt.stack
    if not stack:
        return []
    names = list(ckpt.branches)
    rows = [
        [c, *(f"{stack['weights'][b][i]:.2f}" for b in range(len(names))), f"{stack['intercept'][i]:+.2f}"]
        for i, c in enumerate(ckpt.classes)
    ]
    return [
        "### The stacked fusion",
        "",
        f"Uses **{stack['used']}**: per class, non-negative weights on the branch logits fitted on out-of-fold "
        f"logits, shrunk toward the average of the calibrated branches by the strength with the lowest held-out "
        f"(leave one cross-fitting group out) BCE: {_losses(stack['held_out_loss'])}. Test-time branch logits: "
        f"`{ckpt.head['test_logits']}`, each mapped per class onto its cross-fitting models' centre and spread "
        f"on validation, so the weights apply to logits of the kind they were fitted on. The comparator: "
        f"`{stack['best_branch']}` (the branch with the best validation macro AUC). Weights per class:",
        "",
        _table(["class", *names, "intercept"], rows),
        "",
    ]


def _losses(held_out: dict[str, float]) -> str:
    """'strength: loss' pairs, the chosen (lowest) in bold."""
    low = min(held_out.values())
    return ", ".join(f"**{k}: {v:.4f}**" if v == low else f"{k}: {v:.4f}" for k, v in held_out.items())


def write_report(
    out_dir: Path,
    results: dict[str, dict],
    classes: list[str],
    y_test: np.ndarray,
    probs_test: dict[str, np.ndarray],
    ckpts: dict[str, Checkpoint],
    split_summary: dict,
    preprocess_report: dict,
    logs_dir: Path,
    bootstrap: int,
    calibration_bins: int,
    examples: list[Example],
) -> Path:
    """Write out_dir/report.md and its figures; return the Markdown path."""
    figures = out_dir / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    roc_figure(figures / "roc.png", y_test, probs_test, classes)
    reliability_figure(figures / "reliability.png", y_test, probs_test, classes, calibration_bins)
    confusion_figure(figures / "confusion.png", results, classes)
    training_figure(figures / "training.png", logs_dir, list(results))

    models = list(results)
    split_rows = [
        [name, str(s["records"]), str(s["patients"]), *(str(s["class_counts"][c]) for c in classes)]
        for name, s in split_summary.items()
        if isinstance(s, dict)
    ]
    summary_rows = [
        [
            m,
            f"{_fmt(r['macro_auc'])} [{_fmt(r['macro_auc_ci95_low'])}, {_fmt(r['macro_auc_ci95_high'])}]",
            _fmt(r["fmax"]),
            _fmt(r["subset_accuracy"]),
            *(_fmt(r["macro"][k]) for k in ("precision", "recall", "f1", "accuracy")),
        ]
        for m, r in results.items()
    ]
    per_class = {
        metric: [[c, *(_fmt(results[m]["per_class"][c][metric]) for m in models)] for c in classes]
        for metric in (
            "auc",
            "f1",
            "precision",
            "recall",
            "accuracy",
            "balanced_accuracy",
            "majority_accuracy",
            "threshold",
        )
    }
    fusion = results["fusion"]
    paired_rows = [
        [
            f"fusion - {other} ({'reference, PTB-XL benchmark' if other not in BRANCH_NAMES else 'train@ model'})",
            f"{d['diff']:+.3f} [{d['ci95_low']:+.3f}, {d['ci95_high']:+.3f}]",
            f"{d['share_le_0']:.0%}",
        ]
        for other, diffs in fusion["fusion_minus"].items()
        for d in [diffs["macro_auc"]]
    ]
    inputs = [f"- `{m}`: {c.input_spec.describe()}" for m in models if isinstance(c := ckpts[m], BranchCheckpoint)]
    settings = {m: ckpts[m].training.get("settings", {}) for m in models}
    arch = {m: c.architecture if isinstance(c := ckpts[m], BranchCheckpoint) else c.head for m in models}
    fusion_ckpt = ckpts["fusion"]
    assert isinstance(fusion_ckpt, FusionCheckpoint)

    md = [
        "# Run report",
        "",
        f"Task **{fusion_ckpt.task}**, classes {', '.join(classes)}. All metrics on the **test** split; "
        "decision thresholds tuned per class on the **validation** split (maximum F1).",
        "",
        "## Data",
        "",
        f"{preprocess_report['records_in_database']} records in the database; "
        f"{preprocess_report['unlabelled']['count']} have no label for the task and were excluded; "
        f"{preprocess_report['skipped']['count']} were skipped as unusable; "
        f"{preprocess_report['records_written']} were used. Split method: `{split_summary.get('method')}`.",
        "",
        _table(["split", "records", "patients", *classes], split_rows),
        "",
        "## Results",
        "",
        _table(
            [
                "model",
                "macro AUC [95% CI]",
                "Fmax",
                "subset acc.",
                "macro precision",
                "macro recall",
                "macro F1",
                "macro accuracy",
            ],
            summary_rows,
        ),
        "",
        f"Confidence intervals: percentile bootstrap over test records, {bootstrap} resamples shared by every "
        f"model (resamples lacking a positive or a negative of a class are redrawn; "
        f"{fusion['classes_in_macro_auc']} classes enter macro AUC). Accuracy is per-class binary accuracy (macro: "
        "their mean); read it beside balanced accuracy and the accuracy of always giving the majority answer "
        "(per class, below). Subset accuracy is exact match of the whole label set; Fmax is the PTB-XL "
        "benchmark's sample-centric maximum F1.",
        "",
        "### Paired differences in test macro AUC, against the train@ models",
        "",
        _table(["difference", "macro AUC [95% CI]", "resamples where fusion is not better"], paired_rows),
        "",
        *views_section(fusion["like_for_like"], len(y_test)),
        *_stack_section(fusion_ckpt),
        *calibration_section(results, len(y_test)),
        *explain_section(figures, examples, classes),
        *[
            part
            for metric, rows in per_class.items()
            for part in (f"### Per class: {metric}", "", _table(["class", *models], rows), "")
        ],
        "## Figures",
        "",
        "ROC curves per class (test split):",
        "",
        "![ROC](figures/roc.png)",
        "",
        "Confusion counts per class and model at the validation-tuned thresholds:",
        "",
        "![confusion](figures/confusion.png)",
        "",
        "Training curves:",
        "",
        "![training](figures/training.png)",
        "",
        "## Parameters used",
        "",
        "Inputs, as recorded in each branch's checkpoint:",
        "",
        *inputs,
        "",
        _table(
            ["model", "architecture", "training"],
            [
                [
                    m,
                    f"`{json.dumps(arch[m], sort_keys=True)}`",
                    f"`{json.dumps(settings[m], sort_keys=True)}` best epoch {ckpts[m].training.get('best_epoch')}",
                ]
                for m in models
            ],
        ),
        "",
    ]
    path = out_dir / "report.md"
    path.write_text("\n".join(md))
    return path
