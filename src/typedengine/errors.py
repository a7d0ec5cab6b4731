"""The two kinds of error a user meets at run time, and how a command-line run reports them.

- :class:`UsageError`: a mistake the user made that is only visible once the run starts (a ``--resume``
  file that is not a checkpoint, a config change the resume refuses, weights that do not fit the model).
  Exit code 2, the same as a config mistake caught before the run.
- :class:`Fault`: something the user did not type but can act on (a corrupt checkpoint, a full disk, a
  dead peer). Exit code 1.

Both carry one message whose first line names what is wrong (the config path, the file or the rank) and
how to fix it. In a command-line run (:func:`typedengine.cli` turns :func:`enable_cli_reporting` on) the
runner's entry points report them with :func:`exit_on_error`: ``error: <message>`` on stderr, the exit
code above, no traceback. ``TYPEDENGINE_DEBUG=1`` shows the traceback as well. Outside a command-line run
(tests, notebooks) the exceptions propagate unchanged.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import ClassVar

__all__ = [
    "DEBUG_VARIABLE",
    "Fault",
    "TypedEngineError",
    "UsageError",
    "cli_reporting_enabled",
    "enable_cli_reporting",
    "exit_on_error",
]

DEBUG_VARIABLE = "TYPEDENGINE_DEBUG"
"""Set it to 1 to see the traceback of a reported error (it is not a config field)."""


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


def _debug() -> bool:
    return os.environ.get(DEBUG_VARIABLE, "").strip().lower() not in ("", "0", "false", "no")


@contextmanager
def exit_on_error() -> Iterator[None]:
    """In a command-line run, turn a :class:`TypedEngineError` into its message and exit code.

    Outside one (or with ``TYPEDENGINE_DEBUG=1``) the error propagates with its traceback.
    """
    try:
        yield
    except TypedEngineError as exc:
        if not _Reporting.enabled or _debug():
            raise
        text = str(exc).strip() or type(exc).__name__
        print(f"error: {text}\n(set {DEBUG_VARIABLE}=1 to see the traceback)", file=sys.stderr, flush=True)
        raise SystemExit(exc.exit_code) from None
