"""Fields edited on the command line as one JSON argument: ``--custom-hooks '[{"type": "ema"}]'``.

tyro can edit a tuple of configs only element by element, with its length fixed by the default, so a
variable-length list of union members (``custom_hooks``) is given as a single JSON value instead.
:data:`JsonList` keeps the field typed (mypy sees ``tuple[T, ...]``); pydantic validates every element
against ``T``, discriminated unions included, and reports ``custom_hooks[0].momentum: must be < 1``.
A JSON string is accepted wherever the field is validated (command line, environment variable, Python).

Example::

    class RunnerConfig(Config):
        custom_hooks: JsonList[HookConfig] = Field((), description="Extra hooks, as a JSON list.")
"""

from __future__ import annotations

import json
from typing import Annotated, TypeVar

import pydantic_core
from pydantic import BeforeValidator, JsonValue
from tyro.constructors import PrimitiveConstructorSpec

__all__ = ["JsonDict", "JsonList", "parse_json_text"]

T = TypeVar("T")


def parse_json_text(value: object) -> object:
    """Decode ``value`` when it is a JSON string; anything else passes through unchanged."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}): {value!r}") from None


def _raw(args: list[str]) -> str:
    # Kept as text: the field's BeforeValidator decodes it when the config is validated, so a JSON
    # mistake is reported with the config path like every other problem.
    return args[0]


def _show(value: object) -> list[str]:
    return [pydantic_core.to_json(value).decode()]


def _json_spec(metavar: str, kind: type) -> PrimitiveConstructorSpec[str]:
    def is_instance(value: object) -> bool:
        return isinstance(value, kind)

    return PrimitiveConstructorSpec(
        nargs=1, metavar=metavar, instance_from_str=_raw, is_instance=is_instance, str_from_instance=_show
    )


JsonList = Annotated[tuple[T, ...], BeforeValidator(parse_json_text), _json_spec("JSON-LIST", tuple)]
"""``tuple[T, ...]`` given on the command line as one JSON list (see the module docstring)."""

JsonDict = Annotated[dict[str, JsonValue], BeforeValidator(parse_json_text), _json_spec("JSON-OBJECT", dict)]
"""A JSON object of keyword arguments, given on the command line as one JSON argument."""
