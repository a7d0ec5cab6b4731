"""What an MMEngine config file evaluates to: plain values, dicts that remember where each key was set,
and stand-ins for what the reader did not run.

The reader never executes a config file. Values it can compute are plain Python data (``None``, bools,
numbers, strings, lists, tuples and :class:`CfgDict`). A :class:`CfgDict` maps each key to the
:class:`Location` (file and line) that set it, so every message and every "Not migrated" entry names the
line to look at. Two stand-ins cover the rest:

* :class:`Symbol`: a name bound by an ``import`` statement (``torch.optim.SGD``). Nothing is imported; a
  new-style config's ``type=SGD`` still says which class is meant.
* :class:`Opaque`: an expression the reader does not evaluate (a call of an arbitrary function, a lambda,
  a name bound inside an ``if``). It keeps the source text so that nothing is dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias, Union

from ..errors import UsageError

__all__ = ["CfgDict", "Key", "Location", "MigrateError", "Opaque", "Symbol", "Value"]


class MigrateError(UsageError):
    """A config tree that cannot be migrated (missing base file, syntax error, unsupported value): exit 2."""


@dataclass(frozen=True, order=True)
class Location:
    """A line of a config file (1-based)."""

    path: Path
    line: int

    def show(self, root: Path | None = None) -> str:
        """``file:line``, the file relative to ``root`` (the main config's directory) when below it."""
        return f"{display_path(self.path, root)}:{self.line}"


def display_path(path: Path, root: Path | None) -> str:
    """``path`` relative to ``root`` (with ``..`` steps if needed), else as given."""
    if root is None:
        return str(path)
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        pass
    try:
        import os

        return Path(os.path.relpath(path.resolve(), root.resolve())).as_posix()
    except ValueError:  # another drive on Windows
        return str(path)


@dataclass(frozen=True)
class Symbol:
    """A dotted name bound by an import statement; never imported."""

    path: str

    @property
    def name(self) -> str:
        """The last component (``SGD`` for ``torch.optim.SGD``)."""
        return self.path.rpartition(".")[2]


@dataclass(frozen=True)
class Opaque:
    """An expression that was not evaluated, with its source text and why."""

    source: str
    where: Location
    reason: str
    before: Value = None
    """The value the name had before a statement that was not run may have changed it (None: none)."""


Key: TypeAlias = str | int | float | bool | None
"""Keys a config dict may have (MMEngine configs use strings almost always)."""

Value: TypeAlias = Union[
    None, bool, int, float, str, "list[Value]", "tuple[Value, ...]", "CfgDict", Symbol, Opaque
]
"""Anything a config file's expression evaluates to."""


class CfgDict(dict[Key, Value]):
    """A config dict that remembers the location that set each key (``where``) and where it was made."""

    def __init__(self, origin: Location) -> None:
        super().__init__()
        self.origin = origin
        self.where: dict[Key, Location] = {}

    def set(self, key: Key, value: Value, where: Location) -> None:
        """Set ``key`` and remember where."""
        self[key] = value
        self.where[key] = where

    def shallow_copy(self) -> CfgDict:
        """A copy of this level (nested values shared), locations included."""
        out = CfgDict(self.origin)
        for key, value in self.items():
            out.set(key, value, self.where_of(key))
        return out

    def where_of(self, key: Key) -> Location:
        """Where ``key`` was set (where the dict was made, for a key set by code the reader did not see)."""
        return self.where.get(key, self.origin)

    def remove(self, key: Key) -> None:
        """Delete ``key`` and its location."""
        del self[key]
        self.where.pop(key, None)
