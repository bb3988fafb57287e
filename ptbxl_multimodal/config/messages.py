"""pydantic's validation errors as the one-line messages users see: the dotted key, the value given, what is
allowed in words (`train.common.lr = -0.1: must be a number > 0`), and the nearest key for a misspelt one."""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from typing import Any, Literal, Union

from annotated_types import Ge, Gt, Le

BOUNDS = {"greater_than", "greater_than_equal", "less_than_equal", "less_than"}
NOT_A_MAPPING = {"dataclass_type", "dataclass_exact_type", "dict_type", "model_type"}
SYMBOLS: dict[type, tuple[str, str]] = {Gt: (">", "gt"), Ge: (">=", "ge"), Le: ("<=", "le")}
NAMES = {int: "an integer", float: "a number", str: "a string", bool: "true/false"}


def unknown_key(where: str, allowed: list[str]) -> str:
    hint = difflib.get_close_matches(where.rsplit(".", 1)[-1], allowed, n=1)
    return f"{where}: unknown key ({f'did you mean {hint[0]!r}?' if hint else 'allowed keys: ' + ', '.join(allowed)})"


def _strip(tp: Any) -> tuple[Any, list[Any]]:
    """The type inside any Annotated layers, and their constraints (Gt, Ge, Le)."""
    rules: list[Any] = []
    while typing.get_origin(tp) is typing.Annotated:
        tp, *extra = typing.get_args(tp)
        for item in extra:
            rules.extend(getattr(item, "metadata", [item]))
    return tp, [r for r in rules if type(r) in SYMBOLS]


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (Union, types.UnionType)


def _key_path(cls: Any, loc: tuple) -> tuple:
    """`loc` up to the value a user wrote: pydantic adds one entry per member of a union (its tag) after it."""
    tp = cls
    for i, key in enumerate(loc):
        tp, _ = _strip(tp)
        if _is_union(tp):
            return loc[:i]
        if isinstance(key, int):
            tp = typing.get_args(tp)[0]
        elif key in (hints := typing.get_type_hints(tp, include_extras=True)):
            tp = hints[key]
        else:  # an unknown key: nothing below it
            return loc
    return loc


def _at(cls: Any, loc: tuple) -> Any:
    """The annotated type of the value at `loc` (keys and list indices) inside `cls`."""
    tp = cls
    for key in _key_path(cls, loc):
        tp, _ = _strip(tp)
        tp = typing.get_args(tp)[0] if isinstance(key, int) else typing.get_type_hints(tp, include_extras=True)[key]
    return tp


def describe(tp: Any) -> str:
    """The allowed values, in words."""
    tp, rules = _strip(tp)
    if _is_union(tp):
        return " or ".join(describe(member) for member in typing.get_args(tp))
    if typing.get_origin(tp) is Literal:
        return "one of " + ", ".join(map(str, typing.get_args(tp)))
    if typing.get_origin(tp) is list:
        return f"a list of {describe(typing.get_args(tp)[0])}"
    if dataclasses.is_dataclass(tp) or typing.is_typeddict(tp):
        return "a mapping of keys"
    bounds = [f"{SYMBOLS[type(r)][0]} {getattr(r, SYMBOLS[type(r)][1])}" for r in rules]
    return NAMES.get(tp, str(tp)) + (" " + " and ".join(bounds) if bounds else "")


def message(cls: Any, path: str, error: Any) -> str:
    """One pydantic error (a dict of type, loc, input) of validating `cls` at `path`, in our words."""
    loc, kind, value = _key_path(cls, error["loc"]), error["type"], error["input"]
    if len(loc) < len(error["loc"]):  # a union: one message for all its members
        kind = "literal_error"
    where = path + "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in loc)
    where = where.lstrip(".") or "params.yaml"
    if kind == "missing":
        return f"{where}: missing (add it to params.yaml)"
    if kind in ("extra_forbidden", "unexpected_keyword_argument"):
        return unknown_key(where, list(typing.get_type_hints(_strip(_at(cls, loc[:-1]))[0])))
    if kind in ("too_short", "string_too_short"):
        return f"{where}: must not be empty"
    if kind in NOT_A_MAPPING:
        return f"{where}: expected a mapping of keys, got {value!r}"
    allowed = describe(_at(cls, loc))
    if kind == "finite_number":
        return f"{where} = {value!r}: must be a finite number ({allowed})"
    if kind in BOUNDS or kind == "literal_error":
        return f"{where} = {value!r}: must be {allowed}"
    return f"{where} = {value!r}: expected {allowed}"


def cross_checks(instance: Any, path: str) -> list[str]:
    """Rules that involve several keys: each settings type's `problems(path)`, nested types included."""
    found = list(instance.problems(path)) if hasattr(instance, "problems") else []
    for f in dataclasses.fields(instance) if dataclasses.is_dataclass(instance) else ():
        found += cross_checks(getattr(instance, f.name), f"{path}.{f.name}")
    return found
