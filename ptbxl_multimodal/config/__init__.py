"""Parameters: the typed schema of params.yaml, its loading and messages, and the project's paths."""
