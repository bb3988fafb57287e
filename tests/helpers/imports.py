"""The import-closure tools of scripts/code_deps.py (which checks dvc.yaml's code deps), for the layout tests."""

from __future__ import annotations

import importlib.util

from helpers.sample import ROOT

_spec = importlib.util.spec_from_file_location("code_deps", ROOT / "scripts" / "code_deps.py")
code_deps = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(code_deps)

closure = code_deps.closure
import_graph = code_deps.import_graph
imported_modules = code_deps.imported_modules
module_file = code_deps.module_file
