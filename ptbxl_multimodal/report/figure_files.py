"""How the report's figures are written: matplotlib without a display, PNG without a version stamp (the same
run gives the same bytes)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

PNG: dict[str, Any] = {"metadata": {"Software": None}, "dpi": 110}


def save(fig: plt.Figure, path: Path) -> None:
    """Write `fig` as PNG and free it."""
    fig.savefig(path, **PNG)
    plt.close(fig)


def class_panels(
    path: Path, classes: list[str], draw: Callable[[plt.Axes, int], None], xlabel: str, ylabel: str
) -> None:
    """One square panel per class (`draw(ax, class_index)` adds its lines, one per model, labelled), the
    diagonal dotted, unit axes, one legend of models above; written to `path`."""
    cols = min(len(classes), 5)
    rows = int(np.ceil(len(classes) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.2 * rows), squeeze=False)
    for i, c in enumerate(classes):
        ax = axes[i // cols][i % cols]
        draw(ax, i)
        ax.plot([0, 1], [0, 1], color="grey", lw=0.6, ls=":")
        ax.set(title=c, xlabel=xlabel, ylabel=ylabel, xlim=(0, 1), ylim=(0, 1))
    for j in range(len(classes), rows * cols):
        axes[j // cols][j % cols].axis("off")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=len(labels), frameon=False, title="model")
    fig.tight_layout(rect=(0, 0, 1, 0.88 if rows == 1 else 0.94))
    save(fig, path)
