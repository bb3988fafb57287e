"""params.yaml read as a plain dict (the one place it is parsed), walked by dotted path, and every problem raised
at once as one ParamError."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ptbxl_multimodal.config.messages import unknown_key
from ptbxl_multimodal.errors import ParamError


def unknown_keys(prefix: str, values: dict, allowed: list[str], errors: list[str]) -> None:
    """A line for every key of `values` not in `allowed`, with the nearest allowed one as a hint."""
    errors.extend(unknown_key(f"{prefix}{key}", allowed) for key in values if key not in allowed)


def read_params(path: str | Path = "params.yaml") -> dict[str, Any]:
    """params.yaml as a plain dict (unvalidated); ParamError if it is missing or not YAML."""
    try:
        raw = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError:
        raise ParamError(f"{path}: not found; run the stage from the project root") from None
    except yaml.YAMLError as exc:
        raise ParamError(f"{path}: not valid YAML: {exc}") from None
    return raw if raw is not None else {}


def raise_if(errors: list[str]) -> None:
    """ParamError listing every problem, if there is any (a shared section's problems once)."""
    if errors:
        raise ParamError("invalid params.yaml:\n  - " + "\n  - ".join(dict.fromkeys(errors)))


def subtree(raw: Any, path: str, errors: list[str]) -> Any:
    """The value at a dotted path of params.yaml, or None after recording that it is missing."""
    node, walked = raw, []
    for key in path.split("."):
        walked.append(key)
        if not isinstance(node, dict) or key not in node:
            errors.append(f"{'.'.join(walked)}: missing (add it to params.yaml)")
            return None
        node = node[key]
    return node
