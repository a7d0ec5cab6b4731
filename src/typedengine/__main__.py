"""The ``typedengine`` command: ``typedengine plot ...`` and ``typedengine schema ...``.

Each subcommand lives in the module that owns its concept and exposes ``main(argv) -> int``.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

__all__ = ["main"]

_SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "plot": ("typedengine.logs.plot", "Plot training curves of one or more work dirs to a PNG."),
    "schema": ("typedengine.config.schema", "Print the JSON Schema of an experiment's config tree."),
    "migrate": ("typedengine.migrate.command", "Translate an MMEngine config file into a typed experiment file."),
}


def _usage() -> str:
    lines = ["usage: typedengine {" + ",".join(_SUBCOMMANDS) + "} ...", "", "subcommands:"]
    lines += [f"  {name:<8} {text}" for name, (_, text) in _SUBCOMMANDS.items()]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch to a subcommand; exit code 2 for an unknown one."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help"}:
        print(_usage())
        return 0 if args else 2
    entry = _SUBCOMMANDS.get(args[0])
    if entry is None:
        print(f"typedengine: unknown subcommand {args[0]!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(entry[0])
    result = module.main(args[1:])
    return int(result)


if __name__ == "__main__":
    sys.exit(main())
