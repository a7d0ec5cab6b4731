"""Write MMEngine config values back as the Python an MMEngine user reads (``dict(type='ResNet', depth=50)``).

Used for the TODO comments of placeholder classes (the original dict, so nothing is lost) and for short
values in messages. Values that were not evaluated appear as their source text.
"""

from __future__ import annotations

import keyword

from .values import CfgDict, Opaque, Symbol, Value

__all__ = ["mm_source"]


def mm_source(value: Value, width: int = 100, indent: int = 0) -> str:
    """``value`` as MMEngine-style source, wrapped to ``width`` columns (continuation lines indented)."""
    flat = _flat(value)
    if len(flat) + indent <= width or not isinstance(value, (CfgDict, list, tuple)) or not value:
        return flat
    pad = " " * (indent + 4)
    inner = indent + 4
    if isinstance(value, CfgDict):
        if _keyword_style(value):
            items = [f"{k}={mm_source(v, width, inner)}" for k, v in value.items()]
            opening, closing = "dict(", ")"
        else:
            items = [f"{_flat(k)}: {mm_source(v, width, inner)}" for k, v in value.items()]
            opening, closing = "{", "}"
    else:
        items = [mm_source(v, width, inner) for v in value]
        opening, closing = ("[", "]") if isinstance(value, list) else ("(", ")")
    body = ",\n".join(pad + item for item in items)
    trailing = "," if isinstance(value, tuple) and len(value) == 1 else ""
    return f"{opening}\n{body}{trailing}\n{' ' * indent}{closing}"


def _keyword_style(value: CfgDict) -> bool:
    return all(isinstance(k, str) and k.isidentifier() and not keyword.iskeyword(k) for k in value)


def _flat(value: object) -> str:
    if isinstance(value, CfgDict):
        if _keyword_style(value):
            return "dict(" + ", ".join(f"{k}={_flat(v)}" for k, v in value.items()) + ")"
        return "{" + ", ".join(f"{_flat(k)}: {_flat(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flat(v) for v in value) + "]"
    if isinstance(value, tuple):
        inner = ", ".join(_flat(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, Symbol):
        return value.path
    if isinstance(value, Opaque):
        if value.before is not None:  # what it was before the statement that was not run
            return f"{_flat(value.before)} <then possibly changed at line {value.where.line}: {value.reason}>"
        return value.source
    return repr(value)
