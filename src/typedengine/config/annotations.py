"""Reading config field annotations: unwrap ``Annotated``, list union members, find item types.

Shared by error formatting (to turn pydantic locations into user paths) and by the command-line parser
(to know which config class a value is validated against).
"""

from __future__ import annotations

import types
import typing

from pydantic import BaseModel

__all__ = ["is_model", "is_union", "item_annotation", "model_options", "strip_annotated", "union_members"]


def strip_annotated(tp: object) -> tuple[object, str | None]:
    """Remove ``Annotated`` layers, returning the bare type and any ``Field(discriminator=...)`` found."""
    discriminator: str | None = None
    while typing.get_origin(tp) is typing.Annotated:
        for meta in getattr(tp, "__metadata__", ()):
            disc = getattr(meta, "discriminator", None)
            if isinstance(disc, str):
                discriminator = disc
        tp = typing.get_args(tp)[0]
    return tp, discriminator


def is_union(tp: object) -> bool:
    """``Union[A, B]`` or ``A | B``."""
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


def union_members(tp: object) -> list[object]:
    """The members of a (possibly nested, possibly annotated) union, without ``None``."""
    out: list[object] = []
    for arg in typing.get_args(tp):
        bare, _ = strip_annotated(arg)
        if is_union(bare):
            out.extend(union_members(bare))
        elif bare is not type(None):
            out.append(bare)
    return out


def is_model(tp: object) -> typing.TypeGuard[type[BaseModel]]:
    """A pydantic model class."""
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def model_options(annotation: object) -> list[type[BaseModel]]:
    """The model classes a field annotation accepts (through Annotated, Optional and unions)."""
    bare, _ = strip_annotated(annotation)
    if is_union(bare):
        return [m for m in union_members(bare) if is_model(m)]
    return [bare] if is_model(bare) else []


def item_annotation(annotation: object, key: object) -> object:
    """The annotation of element ``key`` of a tuple/list/set/dict annotation (``None`` when unknown)."""
    bare, _ = strip_annotated(annotation)
    if is_union(bare):
        members = union_members(bare)
        bare = members[0] if len(members) == 1 else None
    origin, args = typing.get_origin(bare), typing.get_args(bare)
    if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
        return args[key] if isinstance(key, int) and 0 <= key < len(args) else None
    if origin in (tuple, list, set, frozenset) and args:
        return args[0]
    if origin is dict and len(args) == 2:
        return args[1]
    return None
