"""Parse the command line into raw values and validate the whole config tree once.

tyro builds nested configs bottom-up, calling each model's constructor as soon as its flags are parsed, so
the first bad value anywhere stops the parse and later problems stay hidden. The rules here make tyro
*record* each model's keyword arguments instead (a :class:`Deferred` node) and leave ``int``/``float``
flags as the strings the user typed. :func:`validate_deferred` then turns the recorded tree into plain
data and validates the root model once, so pydantic reports every invalid value, unknown key and
cross-field problem together, each with its full path.

Only tyro's public ``tyro.constructors`` API is used.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Literal, TypeVar, cast

from pydantic import BaseModel, ValidationError
from tyro.constructors import (
    ConstructorRegistry,
    PrimitiveConstructorSpec,
    PrimitiveTypeInfo,
    StructConstructorSpec,
    StructTypeInfo,
)

from typedengine.config.annotations import item_annotation, model_options
from typedengine.config.cli_text import annotate_variants, plain_text
from typedengine.config.errors import ConfigError, ConfigIssue, format_validation_error

__all__ = ["Deferred", "as_deferred", "deferred_registry", "revalidate", "to_data", "validate_deferred"]

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Deferred:
    """A config node tyro has parsed but nobody has validated yet: its class and keyword arguments."""

    cls: type[BaseModel]
    kwargs: Mapping[str, object]


class _Reentry:
    active = False


def _deferred_struct_rule(info: StructTypeInfo) -> StructConstructorSpec | None:
    """Use tyro's own pydantic rule for the fields, but record the constructor call instead of running it."""
    tp = info.type
    if _Reentry.active or not (isinstance(tp, type) and issubclass(tp, BaseModel)):
        return None
    _Reentry.active = True
    try:
        spec = ConstructorRegistry.get_struct_spec(info)
    finally:
        _Reentry.active = False
    if not isinstance(spec, StructConstructorSpec):
        return None
    model: type[BaseModel] = tp
    # pydantic validates input by alias: map tyro's field names the way tyro's own constructor does
    aliases: dict[str, str] = {}
    for name, field in model.model_fields.items():
        alias = field.validation_alias if isinstance(field.validation_alias, str) else None
        if alias is None and field.validation_alias is None and isinstance(field.alias, str):
            alias = field.alias
        if alias is not None and alias != name:
            aliases[name] = alias

    def record(**kwargs: object) -> Deferred:
        return Deferred(model, {aliases.get(k, k): v for k, v in kwargs.items()})

    # tyro reads the help text and subcommand names from the callable
    record.__doc__ = plain_text(inspect.cleandoc(model.__doc__)) if model.__doc__ else None
    record.__name__ = model.__name__
    record.__qualname__ = model.__qualname__
    fields = tuple(
        dataclasses.replace(f, type=cast(type, annotate_variants(f.type)), helptext=_plain_help(f.helptext))
        for f in spec.fields
    )
    return StructConstructorSpec(instantiate=record, fields=fields)


def _plain_help(helptext: str | Callable[[], str | None] | None) -> str | Callable[[], str | None] | None:
    """A field's help text with its reST markup rendered as plain text (lazily, as tyro asks for it)."""
    if helptext is None or isinstance(helptext, str):
        return plain_text(helptext)
    lazy = helptext

    def render() -> str | None:
        return plain_text(lazy())

    return render


def _as_text(args: list[str]) -> str:
    return args[0]


def _number_spec(kind: type[int | float]) -> PrimitiveConstructorSpec[str]:
    def is_instance(value: object) -> bool | Literal["~"]:
        if isinstance(value, bool):
            return False
        if isinstance(value, kind):
            return True
        return "~" if kind is float and isinstance(value, int) else False

    def show(value: object) -> list[str]:
        return [str(value)]

    return PrimitiveConstructorSpec(
        nargs=1,
        metavar=kind.__name__.upper(),
        instance_from_str=_as_text,  # pydantic converts (and reports) at the root validation
        is_instance=is_instance,
        str_from_instance=show,
    )


_INT_SPEC = _number_spec(int)
_FLOAT_SPEC = _number_spec(float)


def _literal_spec(choices: tuple[str, ...]) -> PrimitiveConstructorSpec[str]:
    """A string ``Literal`` kept as the typed text: pydantic names the field and the choices in one line
    (``log_level: must be one of 'DEBUG', 'INFO', ...``), together with every other problem."""

    def is_instance(value: object) -> bool:
        return value in choices

    def show(value: object) -> list[str]:
        return [str(value)]

    return PrimitiveConstructorSpec(
        nargs=1,
        metavar="{" + ",".join(choices) + "}",
        instance_from_str=_as_text,
        is_instance=is_instance,
        str_from_instance=show,
    )


def _path_is_instance(value: object) -> bool:
    return isinstance(value, PurePath)


def _path_show(value: object) -> list[str]:
    return [str(value)]


_PATH_SPEC = PrimitiveConstructorSpec(
    nargs=1, metavar="PATH", instance_from_str=_as_text, is_instance=_path_is_instance, str_from_instance=_path_show
)
"""A path kept as typed: ``Path("")`` would already be ``.``, hiding ``--work-dir ""`` from the check."""


def _number_rule(info: PrimitiveTypeInfo) -> PrimitiveConstructorSpec[str] | None:
    if info.type is int:
        return _INT_SPEC
    if info.type is float:
        return _FLOAT_SPEC
    if info.type is Path:
        return _PATH_SPEC
    if typing.get_origin(info.type) is Literal:
        values = typing.get_args(info.type)
        if values and all(isinstance(v, str) for v in values):
            return _literal_spec(tuple(str(v) for v in values))
    return None


def deferred_registry() -> ConstructorRegistry:
    """A tyro registry that records model construction and keeps numbers as text (see module docstring)."""
    registry = ConstructorRegistry()
    registry.struct_rule(_deferred_struct_rule)
    registry.primitive_rule(_number_rule)  # numbers, string Literals and paths stay text
    return registry


class _Collector:
    """Walks a parsed tree into plain data, next to the annotation each value is validated against."""

    def __init__(self) -> None:
        self.issues: list[ConfigIssue] = []
        self.failed: list[str] = []

    def data(self, value: object, annotation: object, path: str) -> object:
        if isinstance(value, Deferred):
            by_key = {f.alias if isinstance(f.alias, str) else n: f for n, f in value.cls.model_fields.items()}
            data: dict[str, object] = {}
            for key, item in value.kwargs.items():
                field = by_key.get(key) or value.cls.model_fields.get(key)
                data[key] = self.data(item, None if field is None else field.annotation, _join(path, key))
            options = model_options(annotation)
            if annotation is None or value.cls in options:
                return data
            # A subclass instance in a field typed with its base class (tyro follows the runtime type):
            # validate it on its own so its extra fields are kept, as pydantic keeps a subclass instance.
            try:
                return value.cls.model_validate(data)
            except ValidationError as exc:
                for issue in format_validation_error(exc, value.cls):
                    self.issues.append(ConfigIssue(_join(path, issue.path), issue.message))
                self.failed.append(path)
                return data
        if isinstance(value, (tuple, list)):
            items = [self.data(v, item_annotation(annotation, i), f"{path}[{i}]") for i, v in enumerate(value)]
            return tuple(items) if isinstance(value, tuple) else items
        if isinstance(value, dict):
            return {k: self.data(v, item_annotation(annotation, k), f"{path}[{k!r}]") for k, v in value.items()}
        return value

    def keeps(self, issue: ConfigIssue) -> bool:
        return not any(issue.path == p or issue.path.startswith((p + ".", p + "[")) for p in self.failed)


def _join(path: str, key: str) -> str:
    if not key or key.startswith("["):
        return path + key
    return f"{path}.{key}" if path else key


def to_data(value: object) -> object:
    """Replace :class:`Deferred` nodes by plain dicts (recursively); everything else is kept."""
    return _Collector().data(value, None, "")


def validate_deferred(
    cls: type[M],
    value: object,
    *,
    source: str | None = "the command line",
    context: Mapping[str, object] | None = None,
) -> M:
    """Validate a parsed tree against ``cls`` in one go; :class:`ConfigError` lists every problem.

    A finished ``cls`` instance (tyro returns the default itself when no flag changed it) is validated
    again as well, so ``context`` (e.g. the filesystem checks) applies to it too.
    """
    if isinstance(value, cls):
        value = as_deferred(value)
    collector = _Collector()
    data = collector.data(value, cls, "")
    try:
        result = cls.model_validate(data, context=dict(context) if context is not None else None)
    except ValidationError as exc:
        issues = collector.issues + [i for i in format_validation_error(exc, cls) if collector.keeps(i)]
        raise ConfigError(issues, source) from None
    if collector.issues:
        raise ConfigError(collector.issues, source)
    return result


def as_deferred(value: object) -> object:
    """A validated config tree as :class:`Deferred` nodes again (each model by its own class), for re-validation."""
    if isinstance(value, BaseModel):
        return Deferred(type(value), {name: as_deferred(getattr(value, name)) for name in type(value).model_fields})
    if isinstance(value, (tuple, list)):
        items = [as_deferred(v) for v in value]
        return tuple(items) if isinstance(value, tuple) else items
    if isinstance(value, dict):
        return {k: as_deferred(v) for k, v in value.items()}
    return value


def revalidate(
    cfg: M, *, context: Mapping[str, object] | None = None, source: str | None = None
) -> M:
    """Validate ``cfg`` again from the ground up, every nested config included.

    ``model_copy(update=...)`` and ``model_construct`` skip validation; pydantic also passes nested
    instances through unchecked. This runs every field constraint and validator once more and raises
    :class:`ConfigError` with every problem and its full path.
    """
    return validate_deferred(type(cfg), as_deferred(cfg), source=source, context=context)
