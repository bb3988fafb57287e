"""Typed settings from params.yaml, validated by pydantic: frozen dataclasses whose fields carry their constraints.

Fields have no defaults (params.yaml is the one place a value is chosen); `Int`, `Float`, `Bool` and `Str` are
strict (true is not 1, "3" is not 3; a float accepts an integer). Problems come back as one line per key with
its dotted path (`config/messages.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from pydantic import ConfigDict, Strict, TypeAdapter, ValidationError
from typing_extensions import dataclass_transform

from ptbxl_multimodal.config.messages import cross_checks, message

T = TypeVar("T")
Int = Annotated[int, Strict()]
Float = Annotated[float, Strict()]
Bool = Annotated[bool, Strict()]
Str = Annotated[str, Strict()]
CONFIG = ConfigDict(extra="forbid", allow_inf_nan=False)


@dataclass_transform(frozen_default=True)
def settings(cls: type[T]) -> type[T]:
    """A frozen settings dataclass that pydantic validates with unknown keys and NaN refused."""
    cls.__pydantic_config__ = CONFIG  # type: ignore[attr-defined]
    return dataclass(frozen=True)(cls)


_ADAPTERS: dict[type, TypeAdapter] = {}  # building one takes milliseconds: once per settings type


def parse(cls: type[T], values: Any, path: str, errors: list[str]) -> T | None:
    """An instance of `cls` from a dict, or None after adding one line per problem to `errors`."""
    try:
        adapter = _ADAPTERS.get(cls) or _ADAPTERS.setdefault(cls, TypeAdapter(cls))
        instance = adapter.validate_python(values)
    except ValidationError as exc:
        errors.extend(dict.fromkeys(message(cls, path, e) for e in exc.errors()))  # a union's members: one line
        return None
    errors.extend(cross_checks(instance, path))
    return instance
