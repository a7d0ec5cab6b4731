"""``typedengine.cli``: an experiment's command line, built from its root config class by tyro.

::

    if __name__ == "__main__":
        cfg = te.cli(DigitsExperiment, presets={"small": ("2 epochs", DigitsExperiment(...))})
        te.Runner.from_config(cfg).train()

gives ``python exp.py small --train.max-epochs 3 optim-wrapper.optimizer:adamw --optim-wrapper.optimizer.lr 3e-4``.

Order of sources, lowest first: the class defaults (or ``default``, or the chosen preset) < the
``--config FILE`` (JSON/YAML, may be partial) < ``TYPEDENGINE_…`` environment variables < flags.
Union fields are subcommands (``optim-wrapper.optimizer:adamw``); flags and subcommands may come in any
order (:func:`~typedengine.config.flags.normalize_args`), and switching a variant starts from that
variant's defaults. A bare ``--resume`` means ``--resume True``.

Options handled here, not by the config: ``--config FILE``, ``--print-config`` (print the resolved
config as JSON, exit 0), ``--save-config PATH`` (write it, then go on), ``--plan`` (print the run's
schedule from :func:`typedengine.runner.plan.make_plan` and exit 0; nothing is built).

Every mistake (invalid value, unknown key or flag, a flag of a variant that is not selected, a
cross-field violation, a path that is not usable; from flags, file or environment) is reported at once as
``path: message`` lines on stderr with exit code 2: no traceback, nothing written. tyro's own error boxes
are condensed into the same format. ``cli()`` also turns on :func:`~typedengine.errors.enable_cli_reporting`,
so the Runner's entry points report a :class:`~typedengine.errors.UsageError` or
:class:`~typedengine.errors.Fault` the same way (exit 2 or 1; ``TYPEDENGINE_DEBUG=1`` shows the traceback).
Help and errors are printed by rank 0 only (``RANK`` / ``SLURM_PROCID``); every rank exits the same way.
Output cut short by a closed pipe (``python exp.py --help | head``) ends quietly with exit code 0.
"""

from __future__ import annotations

import io
import os
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, redirect_stderr
from dataclasses import dataclass, field
from typing import NoReturn, TypeVar

import tyro
from pydantic import BaseModel

from typedengine.checkpoint.preemption import exit_until_a_run_starts
from typedengine.config.cli_text import plain_text
from typedengine.config.deferred import deferred_registry, validate_deferred
from typedengine.config.errors import ConfigError, ConfigIssue, render_issues, suggest
from typedengine.config.files import config_text, save_config
from typedengine.config.flags import normalize_args, unknown_tokens
from typedengine.config.layers import ENV_PREFIX, has_env_overrides, load_layered
from typedengine.config.paths import CHECK_FILESYSTEM, mark_checked_for_run, output_file_problem
from typedengine.config.variants import variant_issues
from typedengine.distributed.env import planned_world_size
from typedengine.errors import enable_cli_reporting

__all__ = ["cli"]

C = TypeVar("C", bound=BaseModel)

_OWN_HELP = """\
Options outside the config:
  --config FILE       JSON/YAML file layered over the defaults (may be partial)
  --print-config      print the resolved config as JSON and exit
  --save-config PATH  write the resolved config (JSON/YAML), then run
  --plan              print the schedule (iterations, validation, checkpoints, logging, LR) and exit

Sources, lowest first: defaults < --config FILE < TYPEDENGINE_<FIELD>__<SUBFIELD> variables < flags.
Flags and variant choices (field:name) may come in any order."""

_COMMAND_LINE = "the command line"


@dataclass
class _Options:
    config: str | None = None
    print_config: bool = False
    save_config: str | None = None
    plan: bool = False
    issues: list[ConfigIssue] = field(default_factory=list)


def _rank(environ: Mapping[str, str]) -> int:
    for name in ("RANK", "SLURM_PROCID"):
        value = environ.get(name)
        if value is not None:
            try:
                return int(value)
            except ValueError:
                return 0
    return 0


def _world_size(environ: Mapping[str, str]) -> int:
    for name in ("WORLD_SIZE", "SLURM_NTASKS"):
        value = environ.get(name)
        if value is not None:
            try:
                return max(1, int(value))
            except ValueError:
                return 1
    return 1


def _fail(issues: Sequence[ConfigIssue], source: str | None, console: bool) -> NoReturn:
    if console:
        print(render_issues(issues, source), file=sys.stderr, flush=True)
    raise SystemExit(2)


def _split_options(argv: Sequence[str]) -> tuple[_Options, list[str]]:
    """Take our own options out of ``argv`` (anywhere, ``--opt VALUE`` or ``--opt=VALUE``)."""
    opts = _Options()
    rest: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        name, eq, inline = arg.partition("=")
        key = name.replace("_", "-")
        if key in ("--config", "--save-config"):
            value = ""
            if eq:
                value = inline
            elif i + 1 < len(argv) and not argv[i + 1].startswith("-"):
                i += 1
                value = argv[i]
            if not value:
                opts.issues.append(ConfigIssue(key, "expects a file path"))
            elif key == "--config":
                opts.config = value
            else:
                opts.save_config = value
                problem = output_file_problem(value)
                if problem is not None:
                    opts.issues.append(ConfigIssue(key, f"cannot write {value}: {problem}"))
        elif key == "--print-config" and not eq:
            opts.print_config = True
        elif key == "--plan" and not eq:
            opts.plan = True
        else:
            rest.append(arg)
        i += 1
    return opts, rest


def _pick_preset(
    rest: list[str], presets: Mapping[str, tuple[str, C]] | None, console: bool
) -> tuple[str | None, C | None, list[str]]:
    if not presets:
        return None, None, rest
    if rest and rest[0] in presets:
        return rest[0], presets[rest[0]][1], rest[1:]
    if rest and not rest[0].startswith("-") and ":" not in rest[0]:
        names = list(presets)
        message = f"unknown preset '{rest[0]}'{suggest(rest[0], names)} (presets: {', '.join(names)})"
        _fail([ConfigIssue("", message)], _COMMAND_LINE, console)
    return None, None, rest


def _description(
    config_cls: type[BaseModel], description: str | None, presets: Mapping[str, tuple[str, C]] | None, chosen: str | None
) -> str:
    head = plain_text(description if description is not None else (config_cls.__doc__ or config_cls.__name__)) or ""
    parts = [head.strip()]
    if presets:
        lines = [f"  {name}: {text}" + ("  [selected]" if name == chosen else "") for name, (text, _) in presets.items()]
        parts.append("Presets (first argument, e.g. `exp.py NAME --flag value`):\n" + "\n".join(lines))
    parts.append(_OWN_HELP)
    return "\n\n".join(parts)


@contextmanager
def _quiet_broken_pipe() -> Iterator[None]:
    """``python exp.py --help | head``: the reader went away; stop without a BrokenPipeError traceback."""
    try:
        yield
    except BrokenPipeError:
        # Python flushes stdout again at exit: point it at devnull so that flush cannot fail too
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        raise SystemExit(0) from None


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_RULE = set("─━-=")


def condense_tyro_error(text: str) -> str:
    """tyro's boxed error as one line: its title and first paragraph, without the list of every subcommand.

    The box is drawn with line characters on a terminal and with ASCII elsewhere; both are read.
    """
    cleaned = [_ANSI.sub("", line).strip().strip("╭╮╰╯│|+").strip() for line in text.splitlines()]
    title: str | None = None
    body: list[str] = []
    for line in cleaned:
        if not line:
            continue
        if title is None:
            title = line.strip("".join(_RULE) + " ")
            continue
        if set(line) <= _RULE:
            if body:
                break
            continue
        if line.startswith(("For full helptext", "Available subcommands")):
            break
        body.append(line)
    message = re.sub(r"\s+", " ", " ".join(body)).strip()
    if title and message.startswith(title):
        return message
    if title and message:
        return f"{title.rstrip('.:')}: {message}"
    return title or message or "invalid arguments"


def _run_tyro(
    config_cls: type[C], base: C | None, args: list[str], help_text: str, console: bool
) -> object:
    """tyro's parse, with its errors condensed to our format (help and warnings pass through)."""
    captured = io.StringIO()
    markers = (tyro.conf.CascadeSubcommandArgs,)
    registry = deferred_registry()
    try:
        with redirect_stderr(captured):
            if base is None:
                parsed: object = tyro.cli(
                    config_cls, args=args, description=help_text, console_outputs=console, config=markers,
                    registry=registry,
                )  # fmt: skip
            else:
                parsed = tyro.cli(
                    config_cls, default=base, args=args, description=help_text, console_outputs=console,
                    config=markers, registry=registry,
                )  # fmt: skip
    except SystemExit as exc:
        if exc.code in (0, None):
            sys.stderr.write(captured.getvalue())
            raise
        if console:
            message = condense_tyro_error(captured.getvalue())
            print(render_issues([ConfigIssue("", message)], _COMMAND_LINE) + "\n(see --help)", file=sys.stderr, flush=True)
        raise SystemExit(2) from None
    sys.stderr.write(captured.getvalue())
    return parsed


def cli(
    config_cls: type[C],
    *,
    default: C | None = None,
    args: Sequence[str] | None = None,
    presets: Mapping[str, tuple[str, C]] | None = None,
    description: str | None = None,
    environ: Mapping[str, str] | None = None,
    env_prefix: str | None = ENV_PREFIX,
) -> C:
    """Parse the command line into a validated ``config_cls`` (see the module docstring).

    Args:
        config_cls: The experiment's root config class.
        default: Defaults to start from instead of the class defaults.
        args: Arguments to parse instead of ``sys.argv[1:]``.
        presets: Named starting points, ``{"small": ("two epochs on CPU", cfg)}``; the first command-line
            argument picks one (it replaces ``default``).
        description: Text at the top of ``--help`` (the class docstring when omitted).
        environ: Environment to read ``RANK`` and the ``TYPEDENGINE_…`` overrides from (``os.environ``).
        env_prefix: Prefix of the environment overrides; ``None`` turns them off.

    Exits with code 2 and a ``path: message`` list on any config mistake, and with 0 after ``--help``,
    ``--print-config`` and ``--plan``.
    """
    clash = sorted(set(config_cls.model_fields) & {"config", "print_config", "save_config", "plan"})
    if clash:
        raise TypeError(f"{config_cls.__name__} has field(s) {clash} that clash with cli()'s own options")
    enable_cli_reporting()
    exit_until_a_run_starts()  # a SIGTERM before the Runner exists (e.g. while torch imports) exits 75
    env = os.environ if environ is None else environ
    console = _rank(env) == 0
    with _quiet_broken_pipe():
        return _cli(config_cls, default, args, presets, description, env, env_prefix, console)


def _cli(
    config_cls: type[C],
    default: C | None,
    args: Sequence[str] | None,
    presets: Mapping[str, tuple[str, C]] | None,
    description: str | None,
    env: Mapping[str, str],
    env_prefix: str | None,
    console: bool,
) -> C:
    argv = list(sys.argv[1:] if args is None else args)
    opts, rest = _split_options(argv)
    chosen, preset, rest = _pick_preset(rest, presets, console)
    start: C | None = preset if preset is not None else default

    base: C | None = start
    layered = opts.config is not None or has_env_overrides(env, env_prefix)
    if layered:
        try:
            base = load_layered(config_cls, start, file=opts.config, environ=env, env_prefix=env_prefix)
        except ConfigError as exc:
            _fail([*opts.issues, *exc.issues], exc.source, console)
    # Without a base, tyro takes every default from the class fields: the root is validated once, after
    # parsing (building it here too would run the cross-field checks twice and slow down --help).

    unknown = unknown_tokens(config_cls, rest) + variant_issues(config_cls, base, rest)
    if unknown:
        _fail([*opts.issues, *unknown], _COMMAND_LINE, console)
    rest = normalize_args(config_cls, rest)
    help_text = _description(config_cls, description, presets, chosen)
    parsed = _run_tyro(config_cls, base, rest, help_text, console)
    source = _COMMAND_LINE if not layered else f"{_layer_names(opts.config, env, env_prefix)} and the command line"
    try:
        cfg = validate_deferred(config_cls, parsed, source=source, context={CHECK_FILESYSTEM: True})
    except ConfigError as exc:
        _fail([*opts.issues, *exc.issues], exc.source, console)
    if opts.issues:
        _fail(opts.issues, _COMMAND_LINE, console)
    mark_checked_for_run(cfg)

    if opts.save_config is not None and console:
        try:
            save_config(cfg, opts.save_config)
        except ConfigError as exc:
            _fail(exc.issues, exc.source, console)
        except OSError as exc:
            _fail([ConfigIssue("--save-config", f"cannot write {opts.save_config}: {exc.strerror}")], None, console)
    if opts.print_config:
        if console:
            sys.stdout.write(config_text(cfg, "json"))
            sys.stdout.flush()
        raise SystemExit(0)
    if opts.plan:
        _print_plan(cfg, planned_world_size(getattr(cfg, "launcher", "auto"), env), console)  # the run's launch rules
        raise SystemExit(0)
    return cfg


def _layer_names(file: str | None, environ: Mapping[str, str], prefix: str | None) -> str:
    names = [file] if file is not None else []
    if has_env_overrides(environ, prefix):
        names.append("the environment")
    return ", ".join(names)


def _print_plan(cfg: BaseModel, world_size: int, console: bool) -> None:
    from typedengine.runner.config import RunnerConfig  # lazy: the plan needs the runner's config types
    from typedengine.runner.plan import make_plan

    if not isinstance(cfg, RunnerConfig):
        _fail([ConfigIssue("--plan", f"needs a RunnerConfig root, not {type(cfg).__name__}")], None, console)
    try:
        text = make_plan(cfg, world_size=world_size)
    except ValueError as exc:  # e.g. a config without a training part
        _fail([ConfigIssue("--plan", str(exc))], None, console)
    if console:
        print(text, flush=True)
