"""The config base class: frozen, strict pydantic models that describe a run and build its parts.

Every config in typedengine subclasses :class:`Config`. A config is pure data: frozen (assignment is an
error, for mypy and at run time), strict about unknown keys (``extra="forbid"``), serialisable to JSON and
back to an equal object. Configs that stand for a runtime object define ``build(...)``; runtime classes
never read configs.

Closed sets of alternatives (optimizers, schedulers, loops, hooks, metrics, backends) are discriminated
unions whose members carry ``type: Tag[Literal["name"]] = "name"``. :data:`Tag` hides the discriminator
from the command line (the subcommand name selects the member there) while JSON files keep it.
"""

from __future__ import annotations

from typing import Any, TypeVar

import tyro
from pydantic import BaseModel, ConfigDict

__all__ = ["Config", "Tag", "replace"]

_T = TypeVar("_T")

Tag = tyro.conf.Suppress[_T]
"""Marks a union discriminator field: ``type: Tag[Literal["sgd"]] = "sgd"``. Hidden from the CLI."""

C = TypeVar("C", bound=BaseModel)


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
    return type(cfg).model_validate(data)
