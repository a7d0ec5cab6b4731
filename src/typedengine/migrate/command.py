"""``typedengine migrate CONFIG [-o FILE]``: an MMEngine config tree in, a typed experiment file out.

Exit codes: 0 with the file written (stdout, or ``-o``); 2 when the tree cannot be migrated (a missing
``_base_`` file, a syntax error, a value the reader does not evaluate where a Runner key needs it, a config
MMEngine itself refuses), with one ``file:line: key: message`` line per problem on stderr and nothing
written.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .check import typedengine_refusals
from .experiment import Experiment
from .map_runner import map_config
from .read import read_config
from .values import MigrateError
from .write import write_experiment

__all__ = ["main", "migrate"]


def migrate(path: Path) -> tuple[str, Experiment]:
    """The experiment file for the MMEngine config at ``path`` and what the migration found.

    Raises :class:`~.values.MigrateError` (a ``UsageError``, exit code 2) when it cannot be migrated.
    """
    tree = read_config(path)
    exp = map_config(tree)
    if not exp.problems:
        exp.refusals = typedengine_refusals(exp)
    if exp.problems:
        root = path.parent
        lines = [
            f"{f.where.show(root)}: {f.key}: {f.message}"
            for f in sorted(exp.problems, key=lambda f: (str(f.where.path), f.where.line))
        ]
        noun = "problem" if len(lines) == 1 else "problems"
        raise MigrateError(f"{len(lines)} {noun} in {path} (nothing written):\n  " + "\n  ".join(lines))
    return write_experiment(exp), exp


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="typedengine migrate",
        description="Translate an MMEngine config file (with its _base_ files) into a typed experiment file. "
        "Nothing in the config is executed.",
    )
    parser.add_argument("config", type=Path, help="the MMEngine config (.py, .json, .yaml)")
    parser.add_argument("-o", "--output", type=Path, help="write the experiment here instead of stdout")
    args = parser.parse_args(argv)
    try:
        text, exp = migrate(args.config)
    except MigrateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.output is not None:
        try:
            args.output.write_text(text, encoding="utf-8")
        except OSError as exc:
            print(f"error: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
            return 2
    else:
        sys.stdout.write(text)
    stubs = ", ".join(s.class_name for s in exp.stubs)
    summary = f"migrated {args.config}: {len(exp.fields)} fields"
    if stubs:
        summary += f"; placeholders to fill in: {stubs}"
    if exp.not_migrated:
        summary += f"; {len(exp.not_migrated)} keys not migrated (listed at the top of the file)"
    print(summary, file=sys.stderr)
    if exp.refusals:
        print("typedengine refuses this as written (change it in the file before running):", file=sys.stderr)
        for line in exp.refusals:
            print(f"  {line}", file=sys.stderr)
    return 0
