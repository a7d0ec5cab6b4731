"""Help text is documentation: every field of every config in the package has a description."""

from __future__ import annotations

import importlib
import pkgutil

import typedengine
from typedengine.config.base import Config


def _all_configs() -> list[type[Config]]:
    for info in pkgutil.walk_packages(typedengine.__path__, "typedengine."):
        importlib.import_module(info.name)
    seen: list[type[Config]] = []
    stack: list[type[Config]] = [Config]
    while stack:
        cls = stack.pop()
        for sub in cls.__subclasses__():
            if sub not in seen and sub.__module__.startswith("typedengine."):
                seen.append(sub)
            stack.append(sub)
    return seen


def test_every_config_field_has_a_description() -> None:
    missing = [
        f"{cls.__module__}.{cls.__qualname__}.{name}"
        for cls in _all_configs()
        for name, field in cls.model_fields.items()
        if name != "type" and not (field.description or "").strip()
    ]
    assert not missing, "fields without description:\n" + "\n".join(sorted(set(missing)))
