"""Lazy re-exports for package ``__init__`` modules: names resolve to their submodule on first access,
so importing a package (or a config module inside it) never pulls in torch by itself."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping

__all__ = ["lazy_getattr"]


def lazy_getattr(package: str, exports: Mapping[str, str]) -> Callable[[str], object]:
    """A module ``__getattr__`` for ``package`` that imports ``exports[name]`` (relative or absolute)."""
    module_globals = importlib.import_module(package).__dict__

    def __getattr__(name: str) -> object:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        module_globals[name] = value
        return value

    return __getattr__
