"""Typed settings from plain dicts: frozen dataclasses whose fields carry their own validation rules.

A settings type declares each field's type (bool, int, float, str, Literal choices, lists, nested settings)
and, through `setting(...)`, its bounds. `parse` turns a params.yaml section into an instance, collecting
every problem (unknown or missing key with a suggestion, wrong type, out of range, NaN) as one line naming
the dotted key. Fields never have defaults: params.yaml is the only place a value is chosen.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml

from ptbxl_multimodal.errors import ParamError

T = TypeVar("T")


@dataclass(frozen=True)
class Rules:
    """Bounds and constraints of one value (for lists: of the list; `item` applies to each element)."""

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    nonempty: bool = False
    item: Rules | None = None


def setting(**rules: Any) -> Any:
    """A dataclass field with validation rules (ge, gt, le, nonempty; item: a dict of rules for list elements)
    and no default."""
    if isinstance(rules.get("item"), dict):
        rules["item"] = Rules(**rules["item"])
    return dataclasses.field(metadata={"rules": Rules(**rules)})


def _rules(f: dataclasses.Field) -> Rules:
    return f.metadata.get("rules", Rules())


def describe(tp: Any, rules: Rules = Rules()) -> str:
    """The allowed values, in words (used in error messages)."""
    origin = typing.get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(map(str, typing.get_args(tp)))
    if origin is list:
        (inner,) = typing.get_args(tp)
        return f"a list of {describe(inner, rules.item or Rules())}"
    if dataclasses.is_dataclass(tp):
        return "a mapping of keys"
    name = {int: "an integer", float: "a number", str: "a string", bool: "true/false"}.get(tp, str(tp))
    bounds = []
    if rules.gt is not None:
        bounds.append(f"> {rules.gt}")
    if rules.ge is not None:
        bounds.append(f">= {rules.ge}")
    if rules.le is not None:
        bounds.append(f"<= {rules.le}")
    return name + (" " + " and ".join(bounds) if bounds else "")


def check_value(path: str, value: Any, tp: Any, rules: Rules, errors: list[str]) -> Any:
    """The value converted to `tp` (int -> float where a number is meant), or None after recording a problem."""
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return parse(tp, value, path, errors)
    if origin is Literal:
        choices = typing.get_args(tp)
        # bool is an int in Python: True must not pass for 1, nor 1 for True
        if not any(value == c and type(value) is type(c) for c in choices):
            errors.append(f"{path} = {value!r}: must be {describe(tp)}")
            return None
        return value
    if origin is list:
        if not isinstance(value, list):
            errors.append(f"{path} = {value!r}: expected {describe(tp, rules)}")
            return None
        if rules.nonempty and not value:
            errors.append(f"{path}: must not be empty")
            return None
        (inner,) = typing.get_args(tp)
        before = len(errors)
        items = [check_value(f"{path}[{i}]", v, inner, rules.item or Rules(), errors) for i, v in enumerate(value)]
        return items if len(errors) == before else None
    is_bool = isinstance(value, bool)
    if tp is bool:
        ok = is_bool
    elif tp is int:
        ok = isinstance(value, int) and not is_bool
    elif tp is float:
        ok = isinstance(value, (int, float)) and not is_bool
    else:
        ok = isinstance(value, tp)
    if not ok:
        errors.append(f"{path} = {value!r}: expected {describe(tp, rules)}")
        return None
    given = value  # as the user wrote it, for messages
    if tp is float:
        value = float(value)
        if not math.isfinite(value):
            errors.append(f"{path} = {given!r}: must be a finite number ({describe(tp, rules)})")
            return None
    if tp in (int, float):
        low_ok = (rules.ge is None or value >= rules.ge) and (rules.gt is None or value > rules.gt)
        if not low_ok or (rules.le is not None and value > rules.le):
            errors.append(f"{path} = {given!r}: must be {describe(tp, rules)}")
            return None
    if tp is str and rules.nonempty and not value:
        errors.append(f"{path}: must not be empty")
        return None
    return value


def unknown_keys(prefix: str, values: dict, allowed: list[str], errors: list[str]) -> None:
    """Record every key of `values` not in `allowed`, with the nearest allowed one as a hint."""
    for key in values:
        if key not in allowed:
            hint = difflib.get_close_matches(str(key), allowed, n=1)
            advice = f"did you mean '{hint[0]}'?" if hint else "allowed keys: " + ", ".join(allowed)
            errors.append(f"{prefix}{key}: unknown key ({advice})")


def parse(cls: type[T], values: Any, path: str, errors: list[str], extra: tuple[str, ...] = ()) -> T | None:
    """An instance of the settings dataclass `cls` from a dict, or None after recording its problems.

    Keys named in `extra` are tolerated (the caller checks them); any other unknown key is a problem.
    """
    prefix = f"{path}." if path else ""
    if not isinstance(values, dict):
        errors.append(f"{path or 'params.yaml'}: expected a mapping of keys, got {values!r}")
        return None
    hints = typing.get_type_hints(cls)
    fields = dataclasses.fields(cls)
    unknown_keys(prefix, values, [f.name for f in fields] + list(extra), errors)
    before = len(errors)
    converted = {}
    for f in fields:
        if f.name not in values:
            errors.append(f"{prefix}{f.name}: missing (add it to params.yaml)")
            continue
        converted[f.name] = check_value(prefix + f.name, values[f.name], hints[f.name], _rules(f), errors)
    if len(errors) != before:
        return None
    instance = cls(**converted)
    if hasattr(instance, "problems"):  # rules that involve several keys of the section
        errors.extend(instance.problems(path))
    return instance


def parse_overrides(cls: type[T], base: T, values: dict, path: str, errors: list[str]) -> T | None:
    """`base` with the keys of `values` that name fields of `cls` replaced (each one checked)."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    before = len(errors)
    changes = {
        k: check_value(f"{path}.{k}", v, hints[k], _rules(fields[k]), errors) for k, v in values.items() if k in fields
    }
    if len(errors) != before or base is None:
        return None
    return dataclasses.replace(base, **changes)


def field_names(cls: type) -> tuple[str, ...]:
    """The keys a settings type reads."""
    return tuple(f.name for f in dataclasses.fields(cls))


def as_dict(settings: Any) -> dict[str, Any]:
    """Plain nested dict of a settings instance (for checkpoints and JSON)."""
    return dataclasses.asdict(settings)


def read_params(path: str | Path = "params.yaml") -> dict[str, Any]:
    """params.yaml as a plain dict (unvalidated); ParamError if it is missing or not YAML."""
    path = Path(path)
    try:
        with open(path) as fh:
            raw = yaml.safe_load(fh)
    except FileNotFoundError:
        raise ParamError(f"{path}: not found; run the stage from the project root") from None
    except yaml.YAMLError as exc:
        raise ParamError(f"{path}: not valid YAML: {exc}") from None
    return raw if raw is not None else {}


def raise_if(errors: list[str]) -> None:
    """ParamError listing every problem, if there is any."""
    if errors:
        unique = dict.fromkeys(errors)  # a shared section (train.common) is checked for every user of it
        raise ParamError("invalid params.yaml:\n  - " + "\n  - ".join(unique))


def subtree(raw: Any, path: str, errors: list[str]) -> Any:
    """The value at a dotted path of params.yaml, or None after recording that it is missing."""
    node = raw
    walked = []
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
    settings = parse(cls, values, path, errors) if not errors else None
    raise_if(errors)
    return settings
