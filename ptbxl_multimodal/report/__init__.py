"""The run report and its figures (evaluate writes them; predict --explain draws the same figures)."""
