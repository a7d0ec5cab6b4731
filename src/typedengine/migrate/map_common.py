"""Shared machinery of the mappers: typed access to an MMEngine dict that reports every key it leaves.

A :class:`Section` wraps one MMEngine dict (``default_hooks.checkpoint``). A mapper *takes* the keys it
translates (``sec.take_int("interval")``); whatever it does not take is reported by
:meth:`Section.finish` as "not migrated", so no key is dropped silently. :meth:`Mapping.build` constructs
the typedengine config from the translated values, turns pydantic's errors into findings that name the
MMEngine key and line, and leaves out values equal to the config's own defaults (listed as such).
"""

from __future__ import annotations

from collections.abc import Mapping as MappingABC
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ..config.errors import format_validation_error
from .experiment import Experiment, Finding, Node
from .values import CfgDict, Location, Opaque, Symbol, Value

__all__ = ["MISSING", "Mapping", "Root", "Section", "float_tuple", "given", "show", "type_name"]

C = TypeVar("C", bound=BaseModel)


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""Returned by ``take`` for a key the dict does not have."""


def show(value: Value, limit: int = 80) -> str:
    """A short MMEngine-style rendering of ``value`` for messages."""
    from .mmsource import mm_source

    text = " ".join(mm_source(value).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def type_name(value: Value) -> str | None:
    """The registry type a dict names: ``type='mmdet.CocoMetric'`` -> ``CocoMetric``; ``type=SGD`` (an
    imported class, never imported here) -> ``SGD``; None without a type."""
    kind = value.get("type") if isinstance(value, CfgDict) else None
    if isinstance(kind, Symbol):
        return kind.name
    return kind.rpartition(".")[2] if isinstance(kind, str) else None


class Mapping:
    """The experiment being filled and the report helpers every mapper uses."""

    def __init__(self, experiment: Experiment) -> None:
        self.exp = experiment

    def not_migrated(self, where: Location, key: str, message: str) -> None:
        self.exp.not_migrated.append(Finding(where, key, message))

    def translated(self, where: Location, key: str, message: str) -> None:
        self.exp.translated.append(Finding(where, key, message))

    def default(self, where: Location, key: str, value: Value) -> None:
        self.exp.defaults.append(Finding(where, key, show(value)))

    def problem(self, where: Location, key: str, message: str) -> None:
        self.exp.problems.append(Finding(where, key, message))

    def section(self, value: Value, key: str, where: Location) -> Section | None:
        """``value`` as a :class:`Section`, or None (reported) when it is not a dict."""
        if isinstance(value, CfgDict):
            return Section(self, value, key)
        self.expect(value, key, where, "a dict")
        return None

    def expect(self, value: Value, key: str, where: Location, what: str) -> None:
        """Report ``value`` at ``key`` as the wrong kind (or not evaluated)."""
        if isinstance(value, Opaque):
            self.problem(
                value.where, key,
                f"`{value.source}` is not evaluated ({value.reason}); write a plain value in a copy of the config",
            )  # fmt: skip
        else:
            self.problem(where, key, f"expected {what}, got {show(value)}")

    def build(
        self,
        cls: type[C],
        kwargs: MappingABC[str, object],
        sec: Section | None,
        *,
        keys: MappingABC[str, str] | None = None,
        keep: frozenset[str] = frozenset(),
        where: Location | None = None,
        path: str | None = None,
    ) -> C | None:
        """``cls(**kwargs)`` with errors reported at the MMEngine keys (``keys``: field -> MMEngine key).

        Values equal to the field's default are dropped (listed as defaults) unless named in ``keep``, so
        the written call shows only what differs from typedengine's defaults.
        """
        keys = keys or {}
        prefix = path if path is not None else (sec.path if sec is not None else "")
        try:
            built = cls(**kwargs)
        except ValidationError as exc:
            for issue in format_validation_error(exc, cls):
                field = issue.path.split(".")[0].split("[")[0]
                mm_key = keys.get(field, field)
                at = sec.where(mm_key) if sec is not None and mm_key in sec.data else where
                self.problem(
                    at or Location(self.exp.source, 1), f"{prefix}.{mm_key}".strip("."), issue.message
                )
            return None
        differing: dict[str, object] = {}
        for name, value in kwargs.items():
            info = cls.model_fields[name]
            default = info.get_default(call_default_factory=True)
            if name in keep or getattr(built, name) != default:
                differing[name] = value
            else:
                mm_key = keys.get(name, name)
                if sec is not None and mm_key in sec.data:
                    self.default(sec.where(mm_key), f"{prefix}.{mm_key}".strip("."), sec.data[mm_key])
        return built if differing.keys() == kwargs.keys() else cls(**differing)


class Section:
    """One MMEngine dict being translated; remembers which keys were taken."""

    def __init__(self, mapping: Mapping, data: CfgDict, path: str) -> None:
        self.m = mapping
        self.data = data
        self.path = path
        self.taken: set[object] = set()

    def where(self, key: str | None = None) -> Location:
        """Where ``key`` was set (where the dict was made, without a key)."""
        return self.data.where_of(key) if key is not None else self.data.origin

    def key(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def has(self, key: str) -> bool:
        return key in self.data

    def take(self, key: str) -> Value:
        """The raw value (or MISSING); marks the key as handled."""
        self.taken.add(key)
        return self.data.get(key, MISSING)

    def skip(self, *keys: str) -> None:
        """Mark keys as handled without reading them (their meaning is covered elsewhere)."""
        self.taken.update(keys)

    def _typed(self, key: str, types: tuple[type, ...], what: str, *, allow_none: bool = False) -> Any:
        value = self.take(key)
        if value is MISSING or (value is None and allow_none):
            return value
        if isinstance(value, bool) and bool not in types:
            self.m.expect(value, self.key(key), self.where(key), what)
            return MISSING
        if isinstance(value, types):
            return value
        self.m.expect(value, self.key(key), self.where(key), what)
        return MISSING

    def take_int(self, key: str) -> Any:
        return self._typed(key, (int,), "an integer")

    def take_float(self, key: str, *, allow_none: bool = False) -> Any:
        value = self._typed(key, (int, float), "a number", allow_none=allow_none)
        return float(value) if isinstance(value, int) and not isinstance(value, bool) else value

    def take_bool(self, key: str) -> Any:
        return self._typed(key, (bool,), "True or False")

    def take_str(self, key: str, *, allow_none: bool = False) -> Any:
        return self._typed(key, (str,), "a string", allow_none=allow_none)

    def take_type(self) -> str | None:
        """The ``type`` name: a string, or the last part of an imported class (``type=SGD``)."""
        value = self.take("type")
        if value is MISSING or value is None:
            return None
        if isinstance(value, (Symbol, str)):
            return type_name(self.data)
        self.m.expect(value, self.key("type"), self.where("type"), "a type name")
        return None

    def take_section(self, key: str) -> Section | None:
        value = self.take(key)
        if value is MISSING or value is None:
            return None
        return self.m.section(value, self.key(key), self.where(key))

    def take_ints(self, key: str) -> Any:
        """A list or tuple of integers, as a tuple."""
        value = self.take(key)
        if value is MISSING:
            return value
        if isinstance(value, (list, tuple)) and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        ):
            return tuple(value)
        bad = (
            next((v for v in value if isinstance(v, Opaque)), value)
            if isinstance(value, (list, tuple))
            else value
        )
        self.m.expect(bad, self.key(key), self.where(key), "a list of integers")
        return MISSING

    def take_strs(self, key: str) -> Any:
        """A string or a list of strings, as a tuple (None: empty)."""
        value = self.take(key)
        if value is MISSING:
            return value
        if value is None:
            return ()
        if isinstance(value, str):
            return (value,)
        if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            return tuple(value)
        self.m.expect(value, self.key(key), self.where(key), "a string or a list of strings")
        return MISSING

    def finish(self, reason: str = "typedengine has no equivalent") -> None:
        """Report every key no mapper took."""
        for key, value in self.data.items():
            if key in self.taken:
                continue
            self.m.not_migrated(self.data.where_of(key), self.key(str(key)), f"= {show(value)}: {reason}")


def float_tuple(values: tuple[Value, ...]) -> tuple[float, ...] | None:
    """``values`` as floats when every one is a number (booleans are not), else None."""
    numbers = [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return tuple(numbers) if len(numbers) == len(values) else None


def given(**kwargs: object) -> dict[str, object]:
    """The keyword arguments that are not MISSING (the keys the MMEngine dict set)."""
    return {k: v for k, v in kwargs.items() if v is not MISSING}


class Root:
    """The merged top-level config: which Runner keys were read, and the experiment fields they became."""

    def __init__(self, cfg: CfgDict) -> None:
        self.cfg = cfg
        self.taken: set[str] = set()
        self.values: dict[str, Node] = {}
        self.comments: dict[str, list[str]] = {}
        self.args: dict[str, tuple[str, ...]] = {}

    def get(self, key: str) -> Value:
        """The value of a top-level key (or MISSING); marks it as read."""
        self.taken.add(key)
        return self.cfg.get(key, MISSING)

    def where(self, key: str) -> Location:
        return self.cfg.where_of(key)

    def present(self, key: str) -> bool:
        return key in self.cfg and self.cfg[key] is not None

    def put(self, field: str, value: Node, *comments: str, args: tuple[str, ...] = ()) -> None:
        """Set an experiment field (``args``: type arguments of its annotation)."""
        self.values[field] = value
        self.comments.setdefault(field, []).extend(comments)
        if args:
            self.args[field] = args
