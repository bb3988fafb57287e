"""Training: the loop, data-parallel helpers, per-epoch logs."""
