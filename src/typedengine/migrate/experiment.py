"""The migrated experiment as data: root fields, placeholder classes and the findings, before any code.

The mapper (``map_*`` modules) fills an :class:`Experiment`; the writer (:mod:`.write`) turns it into
source text. Values are real typedengine config instances (validated when the mapper built them, so
the written file holds only values its configs accept) plus :class:`StubRef` where a placeholder class
the user fills in stands.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeAlias, Union

from pydantic import BaseModel

from .values import Location, Value

__all__ = ["ConfigNode", "Experiment", "Finding", "Node", "RootField", "Stub", "StubKind", "StubRef"]

StubKind = Literal["model", "dataset", "metric"]


@dataclass(frozen=True)
class Finding:
    """One line of the report: where, which MMEngine key, what happened to it."""

    where: Location
    key: str
    message: str


@dataclass
class Stub:
    """A placeholder config class the user completes (the user's model, a dataset, a metric)."""

    class_name: str
    kind: StubKind
    mm_type: str
    original: Value
    """The MMEngine dict it stands for, written into its TODO comment."""
    where: Location
    length: int | None = None
    """Datasets: the number of samples when the MMEngine config makes it knowable."""
    length_note: str = ""
    tag: str | None = None
    """Metrics in a union: the discriminator value."""


@dataclass(frozen=True)
class StubRef:
    """An instance of a placeholder class: ``TrainDatasetConfig()``."""

    stub: Stub


@dataclass(frozen=True)
class ConfigNode:
    """A typedengine config instance to write, with field values or comments the instance cannot carry.

    ``type_args`` parametrise a generic config (``DataLoaderConfig[TrainDatasetConfig]``); ``overrides``
    replace fields (a placeholder instead of the stand-in the mapper validated with, or a nested node
    with comments); ``comments`` are written after a field's line.
    """

    config: BaseModel
    type_args: tuple[str, ...] = ()
    overrides: dict[str, Node] = field(default_factory=dict)
    comments: dict[str, str] = field(default_factory=dict)


Node: TypeAlias = Union[ConfigNode, StubRef, BaseModel, "tuple[Node, ...]", Path, str, int, float, bool, None]
"""A value the writer renders."""


@dataclass
class RootField:
    """A field of the experiment class: its value and comment lines written above it."""

    name: str
    value: Node
    comments: list[str] = field(default_factory=list)
    annotation_args: tuple[str, ...] = ()
    """Type arguments of the annotation (``TrainDatasetConfig`` in ``DataLoaderConfig[...] | None``)."""


@dataclass
class Experiment:
    """Everything the writer needs."""

    source: Path
    files: list[Path]
    fields: list[RootField] = field(default_factory=list)
    stubs: list[Stub] = field(default_factory=list)
    not_migrated: list[Finding] = field(default_factory=list)
    translated: list[Finding] = field(default_factory=list)
    defaults: list[Finding] = field(default_factory=list)
    problems: list[Finding] = field(default_factory=list)
    """Blocking: the command reports them and writes nothing (exit 2)."""
    refusals: list[str] = field(default_factory=list)
    """What typedengine's checks refuse in the migrated values (``path: message``): the user changes it."""
