"""Evaluation: metrics, scoring on the test split, the run report."""
