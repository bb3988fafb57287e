"""Test helpers: the real sample and mirrors of it, a loopback HTTP server, tiny WFDB records, settings
built from the committed params.yaml, and throw-away copies of the project for end-to-end runs."""
