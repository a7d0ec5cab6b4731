"""Config mistakes written in the experiment script itself, reported like command-line mistakes.

``python exp.py`` runs the file's body before ``te.cli()`` is reached, so a misspelled keyword or a
wrong value in a class default (``DataLoaderConfig(batch_size="big")``) used to end in pydantic's
traceback with exit code 1. Instead the user gets the command line's format, exit code 2 and the file and
line of the offending call::

    error: 1 config problem in DataLoaderConfig(...) at exp.py:42:
      batch_size: expected an integer, got 'big'

How, without import side effects: nothing is installed when typedengine is imported. When a config
constructor (``Config.__init__``, ``replace()``) or the definition of a ``RunnerConfig`` subclass fails,
:func:`note_script_mistake` looks at the caller's frame. Only if the call was written in the script that
``python`` is running (the ``__main__`` module's file, at any depth), or in the body of a module that
script imports, does it hook ``sys.excepthook`` — and that hook acts only if *this very exception* ends
the program uncaught. A script that catches the error (``except ValidationError``) keeps it as it is;
notebooks, ``python -c``, pytest and library callers are never affected (their ``__main__`` is not the
file that made the call). ``TYPEDENGINE_DEBUG=1`` keeps the traceback.
"""

from __future__ import annotations

import os
import sys
import types
from collections.abc import Callable, Sequence
from typing import ClassVar

from pydantic import BaseModel, ValidationError

from typedengine.config.errors import ConfigIssue, format_validation_error, render_issues
from typedengine.errors import TypedEngineError, debug_enabled

__all__ = ["note_script_mistake"]

_CO_OPTIMIZED = 0x0001  # set on function code objects; module and class bodies run without it
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


_Hook = Callable[[type[BaseException], BaseException, types.TracebackType | None], object]


class _Pending:
    """Exceptions that, if they end the program, are reported as a message (id -> (exception, text))."""

    messages: ClassVar[dict[int, tuple[BaseException, str]]] = {}
    installed: ClassVar[bool] = False
    previous: ClassVar[_Hook] = sys.__excepthook__


def _library_frame(frame: types.FrameType) -> bool:
    filename = os.path.abspath(frame.f_code.co_filename)
    if filename.startswith(_PACKAGE_DIR + os.sep):
        return True
    return f"{os.sep}pydantic{os.sep}" in filename or f"{os.sep}pydantic_core{os.sep}" in filename


def _import_machinery(frame: types.FrameType) -> bool:
    """importlib and runpy frames (``<frozen importlib._bootstrap>``, ``<frozen runpy>``)."""
    name = frame.f_code.co_filename
    return name.startswith("<frozen") or name.endswith(f"{os.sep}runpy.py")


def _main_file() -> str | None:
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    return os.path.abspath(path) if isinstance(path, str) else None


def _in_script(frame: types.FrameType, main_file: str) -> bool:
    """Whether ``frame`` is code of the running script, or a module body imported by it."""
    if os.path.abspath(frame.f_code.co_filename) == main_file:
        return True
    current: types.FrameType | None = frame
    while current is not None:
        if os.path.abspath(current.f_code.co_filename) == main_file:
            return current.f_code.co_name == "<module>"
        if current.f_code.co_flags & _CO_OPTIMIZED and not _import_machinery(current):
            return False  # called from a function that is not the script's: a library at work
        current = current.f_back
    return False


def _shown(path: str) -> str:
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return path
    return relative if not relative.startswith("..") else path


def _excepthook(kind: type[BaseException], value: BaseException, tb: types.TracebackType | None) -> None:
    entry = _Pending.messages.get(id(value))
    if entry is not None and entry[0] is value:
        sys.stderr.write(entry[1] + "\n")
        sys.stderr.flush()
        try:
            sys.stdout.flush()
        except (OSError, ValueError):
            pass
        os._exit(2)  # the exit code of a config mistake; an excepthook cannot choose it otherwise
    _Pending.previous(kind, value, tb)


def note_script_mistake(
    error: ValidationError | TypedEngineError,
    model: type[BaseModel] | None,
    what: str,
    frame: types.FrameType | None,
) -> None:
    """Report ``error`` as one message with exit code 2 if it ends the script run (see the module docstring).

    ``model`` is the class that was validated (for the paths and suggestions), ``what`` names the call
    (``DataLoaderConfig(...)``), ``frame`` is the frame that made it (library frames are skipped).
    """
    if debug_enabled() or frame is None:
        return
    main_file = _main_file()
    if main_file is None:
        return
    while frame is not None and _library_frame(frame):
        frame = frame.f_back
    if frame is None or not _in_script(frame, main_file):
        return
    issues: Sequence[ConfigIssue]
    if isinstance(error, ValidationError):
        issues = format_validation_error(error, model)
    else:
        issues = getattr(error, "issues", None) or [ConfigIssue("", str(error))]
    where = f"{what} at {_shown(frame.f_code.co_filename)}:{frame.f_lineno}"
    _Pending.messages[id(error)] = (error, render_issues(issues, where))
    if not _Pending.installed:
        _Pending.previous = sys.excepthook
        sys.excepthook = _excepthook
        _Pending.installed = True

