"""params.yaml read as a plain dict, one section of it loaded as its settings type, and every problem raised at
once as one ParamError."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml

from ptbxl_multimodal.config.messages import unknown_key
from ptbxl_multimodal.config.schema import parse
from ptbxl_multimodal.errors import ParamError

T = TypeVar("T")


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


def load_section(raw: dict[str, Any], path: str, cls: type[T]) -> T:
    """One section of params.yaml (e.g. "download"), typed; ParamError listing every problem in it."""
    errors: list[str] = []
    values = subtree(raw, path, errors)
    return checked(parse(cls, values, path, errors) if not errors else None, errors)


def checked(value: T | None, errors: list[str]) -> T:
    """`value`, or ParamError listing `errors` (parse returns None only after recording a problem)."""
    raise_if(errors)
    if value is None:
        raise ParamError("invalid params.yaml")
    return value
