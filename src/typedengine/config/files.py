"""Config files: JSON or YAML (chosen by suffix), saved in full and loaded back to an equal object.

``save_config`` always writes the *complete* config (every field, union tags included), never an
``exclude_defaults`` dump: a dump without defaults loses the ``type`` tags and cannot be loaded back.
Files given with ``--config`` may be partial: they are layered over the defaults (see
:mod:`typedengine.config.layers`).

Example::

    save_config(cfg, "run/config.yaml")
    assert load_config(DigitsExperiment, "run/config.yaml") == cfg
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from typedengine.config.errors import ConfigError, ConfigIssue, format_validation_error

__all__ = ["config_text", "load_config", "read_config_file", "save_config"]

M = TypeVar("M", bound=BaseModel)

_JSON = (".json",)
_YAML = (".yaml", ".yml")


def _format_of(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in _JSON:
        return "json"
    if suffix in _YAML:
        return "yaml"
    raise ConfigError([ConfigIssue("", f"unsupported config file type {suffix or '(none)'!r}; use .json, .yaml or .yml")], str(path))


def config_text(cfg: BaseModel, fmt: str = "json") -> str:
    """The full config as JSON (``fmt="json"``) or YAML (``fmt="yaml"``) text."""
    if fmt == "json":
        return cfg.model_dump_json(indent=2) + "\n"
    if fmt == "yaml":
        import yaml  # lazy: only YAML users pay for the import

        # via JSON text, so YAML holds exactly what JSON would (tags, dotted paths, inf/nan)
        data = json.loads(cfg.model_dump_json())
        return str(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    raise ValueError(f"unknown config format {fmt!r}")


def save_config(cfg: BaseModel, path: str | os.PathLike[str]) -> Path:
    """Write the full config to ``path`` (JSON or YAML by suffix) atomically; returns the path."""
    target = Path(path)
    text = config_text(cfg, _format_of(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def read_config_file(path: str | os.PathLike[str]) -> dict[str, object]:
    """Read a JSON/YAML config file into a mapping; :class:`ConfigError` for a missing or malformed file."""
    source = Path(path)
    fmt = _format_of(source)
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([ConfigIssue("", "file not found")], str(source)) from None
    except OSError as exc:
        raise ConfigError([ConfigIssue("", f"cannot read the file: {exc.strerror}")], str(source)) from None
    data: object
    if fmt == "json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            issue = ConfigIssue("", f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}")
            raise ConfigError([issue], str(source)) from None
    else:
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
            problem = getattr(exc, "problem", None) or str(exc)
            raise ConfigError([ConfigIssue("", f"invalid YAML{where}: {problem}")], str(source)) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([ConfigIssue("", f"the top level must be a mapping of fields, not {type(data).__name__}")], str(source))
    return {str(k): v for k, v in data.items()}


def load_config(cls: type[M], path: str | os.PathLike[str]) -> M:
    """Load a complete config file written by :func:`save_config` (or by hand) into ``cls``.

    Raises :class:`ConfigError` listing every problem with its path (unknown keys with a suggestion).
    """
    data = read_config_file(path)
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, cls), str(path)) from None
