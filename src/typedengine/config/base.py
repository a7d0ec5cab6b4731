"""The config base class: frozen, strict pydantic models that describe a run and build its parts.

Every config in typedengine subclasses :class:`Config`. A config is pure data: frozen (assignment is an
error, for mypy and at run time), strict about unknown keys (``extra="forbid"``), serialisable to JSON and
back to an equal object. Configs that stand for a runtime object define ``build(...)``; runtime classes
never read configs.

Closed sets of alternatives (optimizers, schedulers, loops, hooks, metrics, backends) are discriminated
unions whose members carry ``type: Tag[Literal["name"]] = "name"`` and whose alias is annotated with
:data:`Variants`::

    class EarlyStoppingHookConfig(Config):
        type: Tag[Literal["early-stopping"]] = "early-stopping"

    HookConfig = Annotated[Annotated[EMAHookConfig, tyro.conf.subcommand("ema")] | ..., Variants]

:data:`Tag` hides the discriminator from the command line (the subcommand name selects the member there)
while JSON files keep it. Tags are kebab-case, the same string in files, environment variables and as the
subcommand name. On input the snake-case spelling (``early_stopping``) and a variant's former tags
(:attr:`Config.tag_aliases`) are accepted too and validate to the same config; output is always the
kebab-case tag. This module is the one place that knows how: :data:`Variants` normalises the tag before
the union picks its member, and :class:`Config` normalises it for a field that holds one member only.
"""

from __future__ import annotations

import sys
import types
import typing
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Final, TypeVar

import tyro
from pydantic import BaseModel, ConfigDict, Field, GetCoreSchemaHandler, ValidationError, model_validator
from pydantic_core import CoreSchema, core_schema

__all__ = [
    "TAG_KEY",
    "Config",
    "Tag",
    "Variants",
    "canonical_tag",
    "canonical_tags",
    "replace",
    "same_tag",
]

_T = TypeVar("_T")

TAG_KEY: Final = "type"
"""The key that names a union member in JSON/YAML files and environment variables."""


class _TagMarker:
    """Metadata that marks a field as a union discriminator (see :data:`Tag`)."""

    def __repr__(self) -> str:
        return "Tag"


_TAG: Final = _TagMarker()

Tag = Annotated[tyro.conf.Suppress[_T], _TAG]
"""Marks a union discriminator field: ``type: Tag[Literal["early-stopping"]] = "early-stopping"``.

Hidden from the CLI (the subcommand name selects the member there). The tag is kebab-case; input may
spell it with ``_`` instead of ``-``."""

C = TypeVar("C", bound=BaseModel)


def _fold(tag: str) -> str:
    """The spelling-insensitive key of a tag: ``early_stopping`` and ``early-stopping`` are one tag."""
    return tag.replace("_", "-")


_FORMER_TAGS: dict[str, type[Config]] = {}
"""Folded former tag -> the config that accepts it (filled as config classes are defined)."""


class Config(BaseModel):
    """Base of every typedengine config: frozen, ``extra="forbid"``, validated defaults off for speed.

    Example::

        class WidthConfig(Config):
            width: int = Field(32, gt=0, description="Channels of the first conv.")
    """

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        validate_assignment=True,
        use_attribute_docstrings=True,
        protected_namespaces=(),
        # inf/nan survive the JSON round trip (pydantic's default writes them as null)
        ser_json_inf_nan="constants",
    )

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:  # a mistake in the running script: one message, exit 2 (config/script.py)
            from .script import note_script_mistake

            note_script_mistake(exc, type(self), f"{type(self).__name__}(...)", sys._getframe(1))
            raise

    # still pydantic's own __init__ as far as validation goes: model_validate must not route through it
    # (it would drop the validation context); RootModel marks its __init__ the same way
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    tag_aliases: ClassVar[Mapping[str, Mapping[str, object]]] = {}
    """Former tags of this union member that input may still use, each with the fields it implies.

    ``{"linear_momentum": {"param": "momentum"}}``: ``{"type": "linear_momentum", ...}`` validates as
    ``{"type": "linear", "param": "momentum", ...}``. Files, environment variables and the configs stored
    in old checkpoints keep loading after a rename."""

    renamed_fields: ClassVar[Mapping[str, str]] = {}
    """Former field names (old -> new), accepted in input that uses one of :attr:`tag_aliases` (they win
    over the fields the former tag implies: ``{"type": "linear_param", "param_name": "weight_decay"}``)."""

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        for alias in cls.__dict__.get("tag_aliases", {}):
            known = _FORMER_TAGS.get(_fold(alias))
            if known is not None and known.__qualname__ != cls.__qualname__:
                raise TypeError(f"{cls.__name__}: former tag {alias!r} is already {known.__name__}'s")
            _FORMER_TAGS[_fold(alias)] = cls

    @classmethod
    def variant_tag(cls) -> str | None:
        """The tag of this union member (``None`` for a config that is no union member)."""
        field = cls.model_fields.get(TAG_KEY)
        if field is None or _TAG not in field.metadata or not isinstance(field.default, str):
            return None
        return field.default

    @classmethod
    def canonical_input(cls, data: Mapping[str, object]) -> dict[str, object]:
        """``data`` with its tag in this member's spelling; a former tag also brings the fields it implies.

        Input that names another member (or no tag) is returned unchanged, for validation to report it.
        """
        out = dict(data)
        tag, given = cls.variant_tag(), out.get(TAG_KEY)
        if tag is None or not isinstance(given, str) or given == tag:
            return out
        for alias, implied in cls.tag_aliases.items():
            if _fold(given) == _fold(alias):
                out.update(implied)
                for old, new in cls.renamed_fields.items():
                    if old in out:
                        out[new] = out.pop(old)
                out[TAG_KEY] = tag
                return out
        if _fold(given) == _fold(tag):
            out[TAG_KEY] = tag
        return out

    @model_validator(mode="before")
    @classmethod
    def _canonical_tag(cls, data: object) -> object:
        if isinstance(data, Mapping) and TAG_KEY in data and cls.variant_tag() is not None:
            return cls.canonical_input(data)
        return data


def _members(union: object) -> list[type[Config]]:
    """The tagged config classes of a (possibly nested, possibly annotated) union."""
    out: list[type[Config]] = []
    for arg in typing.get_args(union):
        while typing.get_origin(arg) is Annotated:
            arg = typing.get_args(arg)[0]
        if typing.get_origin(arg) in (typing.Union, types.UnionType):
            out.extend(_members(arg))
            continue
        model = typing.get_origin(arg) or arg  # a parametrised generic: its origin holds the tag
        if isinstance(arg, type) and issubclass(arg, Config):
            model = arg
        if isinstance(model, type) and issubclass(model, Config) and model.variant_tag() is not None:
            out.append(model)
    return out


class _Variants:
    """The discriminator of a union of tagged configs: pydantic's ``Field(discriminator="type")`` plus
    spelling normalisation, so ``early_stopping`` and former tags pick the same member."""

    discriminator: Final = TAG_KEY
    """Read by tools that walk annotations (error paths, flag checks), as on a pydantic ``FieldInfo``."""

    def __repr__(self) -> str:
        return "Variants"

    def __get_pydantic_core_schema__(self, source: object, handler: GetCoreSchemaHandler) -> CoreSchema:
        by_key: dict[str, type[Config]] = {}
        for member in _members(source):
            tag = member.variant_tag()
            assert tag is not None
            for spelling in (tag, *member.tag_aliases):
                known = by_key.setdefault(_fold(spelling), member)
                if known is not member:
                    raise TypeError(f"tag {spelling!r} names both {known.__name__} and {member.__name__}")

        def canonical(value: object) -> object:
            if isinstance(value, Mapping):
                given = value.get(TAG_KEY)
                member = by_key.get(_fold(given)) if isinstance(given, str) else None
                if member is not None:
                    return member.canonical_input(value)
            return value

        inner = handler.generate_schema(Annotated[source, Field(discriminator=TAG_KEY)])
        return core_schema.no_info_before_validator_function(canonical, inner)


Variants: Final = _Variants()
"""Annotates a union of tagged configs: ``Annotated[A | B, Variants]`` (see the module docstring)."""


def canonical_tag(tag: str) -> str:
    """The kebab-case form of ``tag``, a known former tag mapped to its member's current one.

    For code that compares raw JSON where no config class is at hand (a layered merge, the resume diff)."""
    member = _FORMER_TAGS.get(_fold(tag))
    current = member.variant_tag() if member is not None else None
    return current if current is not None else _fold(tag)


def same_tag(a: object, b: object) -> bool:
    """Whether two raw tag values name the same member (either spelling, former tags included)."""
    if isinstance(a, str) and isinstance(b, str):
        return canonical_tag(a) == canonical_tag(b)
    return a == b


def canonical_tags(data: Mapping[str, object]) -> dict[str, object]:
    """One raw JSON object with its tag canonical: a former tag upgraded as its member validates it.

    Only the object itself is changed, not the objects nested in it.
    """
    given = data.get(TAG_KEY)
    if not isinstance(given, str):
        return dict(data)
    member = _FORMER_TAGS.get(_fold(given))
    if member is not None:
        return member.canonical_input(data)
    return {**data, TAG_KEY: canonical_tag(given)}


def replace(cfg: C, **changes: Any) -> C:
    """Return a copy of ``cfg`` with ``changes`` applied and the whole model re-validated.

    Unlike ``model_copy(update=...)`` (which skips validation and is invisible to mypy) a bad value raises
    :class:`pydantic.ValidationError` here. Nested fields are changed by passing a replaced sub-config:
    ``replace(cfg, train=replace(cfg.train, max_epochs=5))``.
    """
    unknown = set(changes) - set(type(cfg).model_fields)
    if unknown:
        raise TypeError(f"{type(cfg).__name__} has no field(s) {sorted(unknown)}")
    data = {name: getattr(cfg, name) for name in type(cfg).model_fields}
    data.update(changes)
    try:
        return type(cfg).model_validate(data)
    except ValidationError as exc:  # a mistake in the running script: one message, exit 2 (config/script.py)
        from .script import note_script_mistake

        note_script_mistake(exc, type(cfg), f"replace({type(cfg).__name__}, ...)", sys._getframe(1))
        raise
