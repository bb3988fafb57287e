"""The fusion of the branches: cross-fitting, the stacked combiner, embedding heads and their checkpoints."""
