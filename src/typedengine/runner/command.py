"""The shell command that reproduces a run, recorded next to its resolved config (``command.txt``).

It lives on the runtime side (the Runner writes it) and reads only ``sys`` and the environment, so the
runtime never imports the command-line module.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Mapping, Sequence

from ..config.layers import ENV_PREFIX

__all__ = ["reproduce_command"]


def reproduce_command(args: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> str:
    """``TYPEDENGINE_…`` variables, the interpreter that ran (``sys.executable``), the script and its args."""
    env = os.environ if environ is None else environ
    argv = list(sys.argv[1:] if args is None else args)
    assigns = [f"{k}={shlex.quote(v)}" for k, v in sorted(env.items()) if k.startswith(ENV_PREFIX)]
    interpreter = sys.executable or "python"
    command = [interpreter, sys.argv[0] if sys.argv and sys.argv[0] else "exp.py", *argv]
    return " ".join([*assigns, shlex.join(command)])
