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
or ``{`` is decoded as JSON (broken JSON: ``invalid JSON in TYPEDENGINE_CUSTOM_HOOKS: ...``). Every
``TYPEDENGINE_`` variable must name a config field: a typo is an error with a suggestion, never silently
ignored, and one ``_`` where ``__`` nests is recognised (``TYPEDENGINE_TRAIN_MAX_EPOCHS: ... did you mean
TYPEDENGINE_TRAIN__MAX_EPOCHS?``). ``TYPEDENGINE_DEBUG`` is the one variable that is not a field (it shows
tracebacks, see :mod:`typedengine.errors`).

Switching a variant (a different ``type`` tag in a file or environment variable than in the layer below)
replaces that whole sub-config instead of merging into it, so no field of the old variant leaks into
the new one.

Why not pydantic-settings' sources (``EnvSettingsSource``, ``JsonConfigSettingsSource``,
``YamlConfigSettingsSource``): they read into a ``BaseSettings`` class, and making the root config one
would let every construction of a config read the shell's environment (a config would change because
someone exported a variable) or need a settings twin of the whole tree built per call (slower ``--help``).
Their error quality is also lower for what users get wrong most: unknown nested variables are dropped
or reported without the variable's name, broken JSON comes back as a ``SettingsError`` without the
field path, a changed ``type`` tag is deep-merged into the old variant's fields instead of replacing
them, and a file's syntax error has no line and column. The ~60 lines here keep all of that; the
environment of the *launcher* (``RANK``, ``SLURM_*``) is read with pydantic-settings, where those
limits do not matter (:mod:`typedengine.distributed.env`).
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
from typedengine.errors import DEBUG_VARIABLE

__all__ = ["ENV_PREFIX", "deep_merge", "env_overrides", "has_env_overrides", "load_layered"]

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


class _BadJson:
    """An environment value that looked like JSON but is not; reported, never merged."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


def _env_value(text: str) -> object:
    stripped = text.strip()
    if stripped == "null":
        return None
    if stripped[:1] in ("[", "{"):
        try:
            return json.loads(stripped)
        except json.JSONDecodeError as exc:
            return _BadJson(f"{exc.msg} at column {exc.colno}")
    return text


def _is_override(name: str, prefix: str) -> bool:
    return name.startswith(prefix) and name != prefix and name != DEBUG_VARIABLE


def has_env_overrides(environ: Mapping[str, str], prefix: str | None = ENV_PREFIX) -> bool:
    """Whether ``environ`` holds any config override (``TYPEDENGINE_DEBUG`` is not one)."""
    return prefix is not None and any(_is_override(k, prefix) for k in environ)


def env_overrides(
    environ: Mapping[str, str] | None = None, prefix: str = ENV_PREFIX
) -> tuple[dict[str, object], dict[str, str]]:
    """The config overrides found in ``environ``, as nested data, plus ``{dotted.path: VARIABLE}``.

    A value that starts like JSON but does not parse is left out of the data and kept in the origins as
    ``VARIABLE``; :func:`load_layered` reports it (``invalid JSON in VARIABLE: ...``).
    """
    data, origin, _ = _env_overrides(environ, prefix)
    return data, origin


def _env_overrides(
    environ: Mapping[str, str] | None, prefix: str
) -> tuple[dict[str, object], dict[str, str], list[ConfigIssue]]:
    env = os.environ if environ is None else environ
    data: dict[str, object] = {}
    origin: dict[str, str] = {}
    issues: list[ConfigIssue] = []
    for name in sorted(env):
        if not _is_override(name, prefix):
            continue
        keys = [part.lower() for part in name[len(prefix) :].split("__")]
        if any(not k for k in keys):
            issues.append(ConfigIssue(".".join(k for k in keys if k), f"{name}: empty level (use one __ between fields)"))
            continue
        value = _env_value(env[name])
        if isinstance(value, _BadJson):
            issues.append(ConfigIssue(".".join(keys), f"invalid JSON in {name}: {value.reason}"))
            continue
        node = data
        for key in keys[:-1]:
            child = node.get(key)
            if not isinstance(child, dict):
                child = {}
                node[key] = child
            node = child
        node[keys[-1]] = value
        origin[".".join(keys)] = name
    return data, origin, issues


def _nested_name(cls: type[BaseModel], keys: list[str], prefix: str) -> str | None:
    """``TYPEDENGINE_TRAIN__MAX_EPOCHS`` for keys ``["train_max_epochs"]``: where one ``_`` should be ``__``."""
    from typedengine.config.flags import resolves_to_field

    def splits(words: list[str]) -> list[list[str]]:
        if len(words) == 1:
            return [words]
        out: list[list[str]] = []
        for rest in splits(words[1:]):
            out.append([words[0] + "_" + rest[0], *rest[1:]])
            out.append([words[0], *rest])
        return out

    for i, key in enumerate(keys):
        words = key.split("_")
        if len(words) > 8:
            return None
        for candidate in sorted(splits(words), key=len):
            path = [*keys[:i], *candidate, *keys[i + 1 :]]
            if len(candidate) > 1 and resolves_to_field(cls, path):
                return prefix + "__".join(p.upper() for p in path)
    return None


def _with_origin(issue: ConfigIssue, origins: Mapping[str, str]) -> ConfigIssue:
    for path, where in origins.items():
        if issue.path == path or issue.path.startswith((path + ".", path + "[")):
            return ConfigIssue(issue.path, f"{issue.message} (from {where})")
    # an unknown key above the value: the one variable or file that put something under it
    below = {where for path, where in origins.items() if issue.path and path.startswith(issue.path + ".")}
    if len(below) == 1:
        return ConfigIssue(issue.path, f"{issue.message} (from {below.pop()})")
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
    env_issues: list[ConfigIssue] = []
    if file is not None:
        data = read_config_file(file)
        overrides.append((data, {_key: str(Path(file)) for _key in _leaf_paths(data)}))
    if env_prefix is not None:
        env_data, env_origin, env_issues = _env_overrides(environ, env_prefix)
        if env_data:
            overrides.append((env_data, env_origin))
    sources = [str(file)] if file is not None else []
    if env_prefix is not None and (env_issues or any(o.startswith(env_prefix) for _, origin in overrides for o in origin.values())):
        sources.append("the environment")
    if not overrides:
        if env_issues:
            raise ConfigError(env_issues, " and ".join(sources))
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
        result = cls.model_validate(merged)
    except ValidationError as exc:
        # most specific source first: env variables name single fields, files name every leaf
        ordered = dict(sorted(origins.items(), key=lambda kv: -kv[0].count(".")))
        issues = [_with_origin(_env_hint(cls, i, ordered, env_prefix), ordered) for i in format_validation_error(exc, cls)]
        raise ConfigError([*env_issues, *issues], " and ".join(sources)) from None
    if env_issues:
        raise ConfigError(env_issues, " and ".join(sources))
    return result


def _env_hint(cls: type[BaseModel], issue: ConfigIssue, origins: Mapping[str, str], prefix: str | None) -> ConfigIssue:
    """An unknown field from a variable with one ``_`` where ``__`` nests gets the right variable name."""
    if prefix is None or "unknown field" not in issue.message:
        return issue
    below = [(path, var) for path, var in origins.items() if path == issue.path or path.startswith(issue.path + ".")]
    if len(below) != 1 or not below[0][1].startswith(prefix):
        return issue
    better = _nested_name(cls, below[0][0].split("."), prefix)
    if better is None:
        return issue
    return ConfigIssue(issue.path, f"unknown field; did you mean {better}?")


def _leaf_paths(data: Mapping[str, object], prefix: str = "") -> list[str]:
    paths: list[str] = []
    for key, value in data.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping) and value:
            paths.extend(_leaf_paths(value, path))
        else:
            paths.append(path)
    return paths
