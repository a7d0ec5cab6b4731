"""Filesystem checks for config paths, run before anything is built or written (no torch import).

A path field is only data until a run is about to start: a config saved on one machine must load on
another. So the root config's path validators consult the disk only when validation is given the
:data:`CHECK_FILESYSTEM` context, which :func:`typedengine.cli` and ``Runner.from_config`` pass (and the
Runner checks the paths it is given in the seed's style); each problem is reported with its config path,
together with every other invalid value:

    work_dir: /data/run.txt is a file, not a directory
    load_from: weights/best.pth: no such file

Each function returns the problem as a sentence (None when the path is fine); the caller adds the path.
"""

from __future__ import annotations

import os
import weakref
from pathlib import Path
from typing import Final

from pydantic import BaseModel

__all__ = ["CHECK_FILESYSTEM", "checked_for_run", "directory_problem", "mark_checked_for_run", "output_file_problem"]

CHECK_FILESYSTEM: Final = "typedengine.check_filesystem"
"""Validation-context key: ``model_validate(data, context={CHECK_FILESYSTEM: True})`` makes a root config
(:class:`~typedengine.runner.config.RunnerConfig`) check its paths on disk in the same pass."""

_CHECKED: weakref.WeakValueDictionary[int, BaseModel] = weakref.WeakValueDictionary()


def mark_checked_for_run(cfg: BaseModel) -> None:
    """Remember that ``cfg`` (this very object) passed validation with the filesystem checks."""
    _CHECKED[id(cfg)] = cfg


def checked_for_run(cfg: BaseModel) -> bool:
    """Whether ``cfg`` itself was validated with the filesystem checks (``te.cli()`` does it), so
    ``Runner.from_config`` need not repeat the pass; a copy (``model_copy``) is a new object and is not."""
    return _CHECKED.get(id(cfg)) is cfg


def _blocking_parent(path: Path) -> str | None:
    """The sentence for the nearest existing ancestor of ``path`` when it is not a writable directory."""
    for parent in path.absolute().parents:
        if not parent.exists():
            continue
        if not parent.is_dir():
            return f"{path} lies under {parent}, which is a file"
        if not os.access(parent, os.W_OK | os.X_OK):
            return f"cannot create {path}: {parent} is not writable"
        return None
    return None


def directory_problem(path: str | os.PathLike[str]) -> str | None:
    """Why ``path`` cannot be used (or created) as a directory; None when it can."""
    if str(path).strip() == "":
        return "is empty (it would write into the current directory; give '.' to mean that)"
    target = Path(path)
    if target.exists():
        if not target.is_dir():
            return f"{target} is a file, not a directory"
        if not os.access(target, os.W_OK | os.X_OK):
            return f"{target} is not writable"
        return None
    return _blocking_parent(target)


def output_file_problem(path: str | os.PathLike[str]) -> str | None:
    """Why a file cannot be written at ``path`` (a directory is there, or a parent is a file); None when it can."""
    if str(path).strip() == "":
        return "is empty"
    target = Path(path)
    if target.is_dir():
        return f"{target} is a directory"
    if target.exists():
        return None if os.access(target, os.W_OK) else f"{target} is not writable"
    return _blocking_parent(target)

