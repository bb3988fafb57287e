"""Predicting other devices' records: reading and windowing, inference, explanations and the CLI."""
