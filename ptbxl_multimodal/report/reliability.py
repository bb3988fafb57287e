"""The run report's calibration part: a reliability diagram and the Brier/ECE table, before and after each
model's calibration (evaluation.calibration)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from ptbxl_multimodal.evaluation.calibration import binned
from ptbxl_multimodal.report.figure_files import class_panels


def reliability_figure(path: Path, y: np.ndarray, probs: dict[str, np.ndarray], classes: list[str], bins: int) -> None:
    """One panel per class: observed frequency against mean predicted probability per bin, one line per model
    (calibrated probabilities); the diagonal is perfect calibration."""

    def draw(ax: plt.Axes, i: int) -> None:
        for name, p in probs.items():
            pred, obs, _ = zip(*binned(y[:, i : i + 1], p[:, i : i + 1], bins)[0])
            ax.plot(pred, obs, marker="o", ms=3, label=name)

    class_panels(path, classes, draw, "mean predicted probability", "observed frequency")


def calibration_section(results: dict[str, dict], n_test: int) -> list[str]:
    """Markdown: per model, macro Brier score and ECE before and after calibration, with the paired change."""
    rows = []
    for model, r in results.items():
        cal = r["calibration"]
        change = cal["brier_change"]
        rows.append(
            f"| {model} | {cal['method']} | {cal['brier_uncalibrated']:.4f} | {cal['brier']:.4f} | "
            f"{change['diff']:+.4f} [{change['ci95_low']:+.4f}, {change['ci95_high']:+.4f}] | "
            f"{cal['ece_uncalibrated']:.4f} | {cal['ece']:.4f} |"
        )
    bins = next(iter(results.values()))["calibration"]["bins"]
    return [
        "## Calibration",
        "",
        "Do the probabilities mean what they say? Macro Brier score (mean squared error of the probability; lower "
        f"is better) and expected calibration error (ECE, {bins} equal-width bins) on the test split "
        f"({n_test} records), before and after each model's calibration, fitted on the validation split when it was "
        "trained (`calibration.method`). Calibration keeps every AUC and decision; per-class figures are in "
        "`metrics/detail/`.",
        "",
        "| model | calibration | Brier before | Brier after | change [95% CI] | ECE before | ECE after |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
        "![reliability](figures/reliability.png)",
        "",
    ]
