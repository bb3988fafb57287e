"""How a record longer than the models' training length is scored: windows of the training length.

The rule, the same for every branch: a record as long as the training records is one window; a longer one is
covered by windows of that length every half window (the last one ending at the record's end), each scored
like a training record, and the per-class probabilities are averaged over its windows. A record shorter than
the training length is refused: padding would show the models a signal they never saw in training.
The signal branch's benchmark protocol (models.base.SlidingWindows) slides its crops over a record the same way.
"""

from __future__ import annotations

STRIDE = 0.5  # of the window length: consecutive windows overlap by half


def window_starts(n_samples: int, width: int, step: int | None = None) -> list[int]:
    """Start samples of the windows covering a record of `n_samples` with windows of `width` samples every `step`
    samples (half a window unless given); empty when the record is shorter than one window."""
    if n_samples < width:
        return []
    step = max(1, int(round(width * STRIDE)) if step is None else step)
    starts = list(range(0, n_samples - width + 1, step))
    if starts[-1] != n_samples - width:
        starts.append(n_samples - width)  # the record's end is never left out
    return starts
