"""Layered config sources: defaults < config file < environment (the command line goes on top in ``cli``).

A config file (``--config exp.yaml``) and environment variables only need the keys they change; they are
merged into the full default config and the result is validated once, so every problem from both
sources is reported together with its path and where it came from.

Environment variables are ``TYPEDENGINE_`` + the field path in capitals with ``__`` between levels::

    TYPEDENGINE_TRAIN__MAX_EPOCHS=5
    TYPEDENGINE_OPTIM_WRAPPER__OPTIMIZER__TYPE=adamw     # switches the variant (the old fields are dropped)
    TYPEDENGINE_CUSTOM_HOOKS='[{"type": "ema"}]'         # lists and mappings as JSON
    TYPEDENGINE_LOAD_FROM=null                           # null means None

Values are strings that pydantic converts (``"5"`` → 5 for an ``int`` field); a value starting with ``[``
or ``{`` is decoded as JSON. Every ``TYPEDENGINE_`` variable must name a config field: a typo is an error
with a suggestion, not silently ignored.

Switching a variant (a different ``type`` tag in a file or environment variable than in the layer below)
replaces that whole sub-config instead of merging into it, so no field of the old variant leaks into
the new one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from typedengine.config.base import same_tag
from typedengine.config.errors import ConfigError, ConfigIssue, format_validation_error
from typedengine.config.files import read_config_file

__all__ = ["ENV_PREFIX", "deep_merge", "env_overrides", "load_layered"]

M = TypeVar("M", bound=BaseModel)

ENV_PREFIX = "TYPEDENGINE_"
"""Prefix of the environment variables that override config fields."""

TAG_KEY = "type"


def deep_merge(base: Mapping[str, object], override: Mapping[str, object]) -> dict[str, object]:
    """``override`` on top of ``base``, recursively for mappings; a changed ``type`` tag replaces the subtree."""
    merged: dict[str, object] = dict(base)
    for key, value in override.items():
        below = merged.get(key)
        if isinstance(value, Mapping) and isinstance(below, Mapping):
            switched = (
                TAG_KEY in value and TAG_KEY in below and not same_tag(value[TAG_KEY], below[TAG_KEY])
            )
            merged[key] = dict(value) if switched else deep_merge(below, value)
        else:
            merged[key] = value
    return merged


def _env_value(text: str) -> object:
    stripped = text.strip()
    if stripped == "null":
        return None
    if stripped[:1] in ("[", "{"):
        try:
            return json.loads(stripped)
        except json.JSONDecodeError:
            return text  # reported by the field's validator with its path
    return text


def env_overrides(
    environ: Mapping[str, str] | None = None, prefix: str = ENV_PREFIX
) -> tuple[dict[str, object], dict[str, str]]:
    """The config overrides found in ``environ``, as nested data, plus ``{dotted.path: VARIABLE}``."""
    env = os.environ if environ is None else environ
    data: dict[str, object] = {}
    origin: dict[str, str] = {}
    for name in sorted(env):
        if not name.startswith(prefix) or name == prefix:
            continue
        keys = [part.lower() for part in name[len(prefix) :].split("__")]
        if any(not k for k in keys):
            continue
        node = data
        for key in keys[:-1]:
            child = node.get(key)
            if not isinstance(child, dict):
                child = {}
                node[key] = child
            node = child
        node[keys[-1]] = _env_value(env[name])
        origin[".".join(keys)] = name
    return data, origin


def _with_origin(issue: ConfigIssue, origins: Mapping[str, str]) -> ConfigIssue:
    for path, where in origins.items():
        if issue.path == path or issue.path.startswith((path + ".", path + "[")):
            return ConfigIssue(issue.path, f"{issue.message} (from {where})")
    return issue


def load_layered(
    cls: type[M],
    base: M | None = None,
    *,
    file: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    env_prefix: str | None = ENV_PREFIX,
) -> M:
    """``base`` (or the class defaults) < ``file`` < environment, validated once.

    Returns ``base`` itself when neither a file nor an environment override is present. Raises
    :class:`ConfigError` with every problem; each names the file or variable it came from.
    """
    overrides: list[tuple[dict[str, object], dict[str, str]]] = []
    if file is not None:
        data = read_config_file(file)
        overrides.append((data, {_key: str(Path(file)) for _key in _leaf_paths(data)}))
    if env_prefix is not None:
        env_data, env_origin = env_overrides(environ, env_prefix)
        if env_data:
            overrides.append((env_data, env_origin))
    if not overrides:
        return base if base is not None else cls()
    if base is None:
        try:
            base = cls()
        except ValidationError:
            base = None  # required fields without defaults: the file/environment must provide them
    merged: dict[str, object] = base.model_dump() if base is not None else {}
    origins: dict[str, str] = {}
    for data, origin in overrides:
        merged = deep_merge(merged, data)
        origins.update(origin)
    try:
        return cls.model_validate(merged)
    except ValidationError as exc:
        # most specific source first: env variables name single fields, files name every leaf
        ordered = dict(sorted(origins.items(), key=lambda kv: -kv[0].count(".")))
        issues = [_with_origin(i, ordered) for i in format_validation_error(exc, cls)]
        sources = [str(file)] if file is not None else []
        if env_prefix is not None and any(o.startswith(env_prefix) for o in origins.values()):
            sources.append("the environment")
        raise ConfigError(issues, " and ".join(sources)) from None


def _leaf_paths(data: Mapping[str, object], prefix: str = "") -> list[str]:
    paths: list[str] = []
    for key, value in data.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping) and value:
            paths.extend(_leaf_paths(value, path))
        else:
            paths.append(path)
    return paths
