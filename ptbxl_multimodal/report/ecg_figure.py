"""An explanation drawn for a reader: the 12 leads as an ECG, shaded where the time branch's attribution for
one class is large (report.attributions)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from ptbxl_multimodal.data.records import LEADS
from ptbxl_multimodal.report.attributions import Explanation
from ptbxl_multimodal.report.figure_files import save

SHADE_S = 0.1  # attribution summed over bins of this width before shading
SPELLING = {"AVR": "aVR", "AVL": "aVL", "AVF": "aVF"}  # as printed on an ECG


def ecg_figure(path: Path, explanation: Explanation, class_index: int, title: str) -> None:
    """One row per lead: the signal the time branch saw (filtered, at the model's rate), over a red shade
    whose depth is the absolute attribution for class `class_index`, on one scale for all leads."""
    attribution = np.abs(explanation.attribution[class_index])  # (12, T)
    signal, fs = explanation.signal, explanation.fs
    width = max(1, int(round(SHADE_S * fs)))
    edges = np.arange(0, attribution.shape[1], width)
    shade = np.add.reduceat(attribution, edges, axis=1)
    top = shade.max() or 1.0
    seconds = signal.shape[1] / fs
    shares = explanation.lead_shares()[class_index]
    fig, axes = plt.subplots(len(LEADS), 1, figsize=(11, 0.75 * len(LEADS) + 0.8), sharex=True)
    for i, ax in enumerate(axes):
        ax.imshow(
            shade[i : i + 1] / top,
            aspect="auto",
            cmap="Reds",
            vmin=0,
            vmax=1,
            extent=(0, seconds, -1, 1),
            alpha=0.8,
            interpolation="nearest",
        )
        trace = signal[i] - np.median(signal[i])
        span = max(np.abs(trace).max(), 1e-6)
        ax.plot(np.arange(signal.shape[1]) / fs, trace / span * 0.9, color="black", lw=0.6)
        ax.set_ylim(-1, 1)
        ax.set_yticks([])
        ax.set_ylabel(
            f"{SPELLING.get(LEADS[i], LEADS[i])}\n{shares[i]:.0%}", rotation=0, ha="right", va="center", fontsize=8
        )
    axes[-1].set_xlabel("seconds")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    save(fig, path)
