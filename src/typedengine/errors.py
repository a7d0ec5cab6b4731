"""The two kinds of error a user meets at run time, and how a command-line run reports them.

- :class:`UsageError`: a mistake the user made (a bad value or path, a ``--resume`` file that is not a
  checkpoint, a config change the resume refuses, weights that do not fit the model). Exit code 2, the
  same as a config mistake caught before the run.
- :class:`Fault`: something the user did not type but can act on (a corrupt checkpoint, a full disk, a
  dead peer). Exit code 1.

Both carry one message whose first line names what is wrong (the config path, the file or the rank) and
how to fix it. In a command-line run (:func:`typedengine.cli` turns :func:`enable_cli_reporting` on) the
runner's entry points (``Runner(...)``, ``Runner.from_config``, ``train``, ``val``, ``test``) report them
with :func:`exit_on_error`: ``error: <message>`` on stderr, the exit code above, no traceback.
``TYPEDENGINE_DEBUG=1`` lets the exception propagate with its traceback instead (the variable is read
here and is never a config field). Outside a command-line run (tests, notebooks, a library calling the
Runner) the exceptions propagate unchanged, so callers can catch them.

Every *other* exception (``TypeError``, ``KeyError``, ``RuntimeError`` from torch, ...) is left alone and
ends the run with Python's traceback and exit code 1. That is deliberate: such an exception is a bug,
in typedengine or in the user's model code, and the traceback is the useful report. A mistake the user
can fix by changing what they typed must therefore be raised as a :class:`UsageError` (a
:class:`~typedengine.config.errors.ConfigError` for config paths) where it is found.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ClassVar, ParamSpec, TypeVar

__all__ = [
    "DEBUG_VARIABLE",
    "Fault",
    "TypedEngineError",
    "UsageError",
    "cli_reporting_enabled",
    "debug_enabled",
    "enable_cli_reporting",
    "exit_on_error",
    "report_error",
    "reported",
    "setting_hint",
]

DEBUG_VARIABLE = "TYPEDENGINE_DEBUG"
"""Set it to 1 to see the traceback of a reported error (it is not a config field)."""

_P = ParamSpec("_P")
_R = TypeVar("_R")


class TypedEngineError(Exception):
    """Base of the errors a command-line run reports as one message (see the module docstring)."""

    exit_code: ClassVar[int] = 1


class UsageError(TypedEngineError):
    """A user mistake found at run time: exit code 2."""

    exit_code: ClassVar[int] = 2


class Fault(TypedEngineError):
    """A fault the user can act on (corrupt file, full disk, dead peer): exit code 1."""

    exit_code: ClassVar[int] = 1


class _Reporting:
    enabled = False


def enable_cli_reporting(enabled: bool = True) -> None:
    """Report :class:`TypedEngineError` as one message and exit (what ``te.cli()`` turns on)."""
    _Reporting.enabled = enabled


def cli_reporting_enabled() -> bool:
    """Whether errors are reported as messages with an exit code (a command-line run)."""
    return _Reporting.enabled


def debug_enabled() -> bool:
    """Whether ``TYPEDENGINE_DEBUG`` asks for tracebacks (any value but empty, 0, false, no)."""
    return os.environ.get(DEBUG_VARIABLE, "").strip().lower() not in ("", "0", "false", "no")


def _rank() -> int:
    for name in ("RANK", "SLURM_PROCID"):
        value = os.environ.get(name, "").strip()
        if value.isdigit():
            return int(value)
    return 0


def report_error(exc: TypedEngineError) -> None:
    """Print ``exc`` the way a command-line run reports it: ``error: <message>`` and the debug hint.

    A :class:`UsageError` is the same mistake on every rank of a distributed launch, so only rank 0
    prints it; a :class:`Fault` may be a rank's own (its disk, its peer) and every rank prints it.
    """
    rank = _rank()
    if isinstance(exc, UsageError) and rank != 0:
        return
    text = str(exc).strip() or type(exc).__name__
    if not text.startswith("error:"):
        text = f"error: {text}"
    if isinstance(exc, Fault) and rank != 0:
        text = f"[rank {rank}] {text}"
    print(f"{text}\n(set {DEBUG_VARIABLE}=1 to see the traceback)", file=sys.stderr, flush=True)


@contextmanager
def exit_on_error() -> Iterator[None]:
    """In a command-line run, turn a :class:`TypedEngineError` into its message and exit code.

    Outside one (or with ``TYPEDENGINE_DEBUG=1``) the error propagates with its traceback; other
    exceptions always do (see the module docstring).
    """
    try:
        yield
    except TypedEngineError as exc:
        if not _Reporting.enabled or debug_enabled():
            raise
        report_error(exc)
        raise SystemExit(exc.exit_code) from None


def reported(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run ``fn`` under :func:`exit_on_error` (the decorator of the runner's entry points)."""

    @functools.wraps(fn)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with exit_on_error():
            return fn(*args, **kwargs)

    return wrapper


def setting_hint(path: str, value: object) -> str:
    """How the user sets ``path`` to ``value``: ``--resume True`` in a command-line run, else ``resume=True``.

    ``path`` is the dotted config path (``default_hooks.checkpoint.interval``); messages that tell the user
    what to type use this, so they match where the user types it.
    """
    if _Reporting.enabled:
        flag = "--" + path.replace("_", "-")
        shown = str(value) if not isinstance(value, str) or " " not in value else repr(value)
        return f"{flag} {shown}"
    return f"{path}={value!r}"
