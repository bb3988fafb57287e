"""How the report's figures are written: matplotlib without a display, PNG without a version stamp (the same
run gives the same bytes)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

PNG = {"metadata": {"Software": None}, "dpi": 110}


def save(fig: plt.Figure, path: Path) -> None:
    """Write `fig` as PNG and free it."""
    fig.savefig(path, **PNG)
    plt.close(fig)
