"""``typedengine.cli``: an experiment's command line, built from its root config class by tyro.

::

    if __name__ == "__main__":
        cfg = te.cli(DigitsExperiment, presets={"small": ("2 epochs", DigitsExperiment(...))})
        te.Runner.from_config(cfg).train()

gives ``python exp.py small --train.max-epochs 3 optim-wrapper.optimizer:adamw --optim-wrapper.optimizer.lr 3e-4``.

Order of sources, lowest first: the class defaults (or ``default``, or the chosen preset) < the
``--config FILE`` (JSON/YAML, may be partial) < ``TYPEDENGINE_…`` environment variables < flags.
Union fields are subcommands (``optim-wrapper.optimizer:adamw``); flags may come in any order
(``tyro.conf.CascadeSubcommandArgs``), and switching a variant starts from that variant's defaults.

Options handled here, not by the config: ``--config FILE``, ``--print-config`` (print the resolved
config as JSON, exit 0), ``--save-config PATH`` (write it, then go on), ``--plan`` (print the run's
schedule from :func:`typedengine.runner.plan.make_plan` and exit 0; nothing is built).

Every mistake (invalid value, unknown key, cross-field violation; from flags, file or environment) is
reported at once as ``path: message`` lines on stderr with exit code 2: no traceback, nothing written.
Help and errors are printed by rank 0 only (``RANK`` / ``SLURM_PROCID``); every rank exits the same way.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NoReturn, TypeVar

import tyro
from pydantic import BaseModel

from typedengine.config.deferred import deferred_registry, validate_deferred
from typedengine.config.errors import ConfigError, ConfigIssue, render_issues, suggest
from typedengine.config.files import config_text, save_config
from typedengine.config.flags import expand_negated_flags, unknown_tokens
from typedengine.config.layers import ENV_PREFIX, load_layered
from typedengine.distributed.env import planned_world_size

__all__ = ["cli", "reproduce_command"]

C = TypeVar("C", bound=BaseModel)

_OWN_HELP = """\
Options outside the config:
  --config FILE       JSON/YAML file layered over the defaults (may be partial)
  --print-config      print the resolved config as JSON and exit
  --save-config PATH  write the resolved config (JSON/YAML), then run
  --plan              print the schedule (iterations, validation, checkpoints, logging, LR) and exit

Sources, lowest first: defaults < --config FILE < TYPEDENGINE_<FIELD>__<SUBFIELD> variables < flags."""


@dataclass
class _Options:
    config: str | None = None
    print_config: bool = False
    save_config: str | None = None
    plan: bool = False


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


def _split_options(argv: Sequence[str], console: bool) -> tuple[_Options, list[str]]:
    """Take our own options out of ``argv`` (anywhere, ``--opt VALUE`` or ``--opt=VALUE``)."""
    opts = _Options()
    rest: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        name, eq, inline = arg.partition("=")
        key = name.replace("_", "-")
        if key in ("--config", "--save-config"):
            if eq:
                value = inline
            elif i + 1 < len(argv) and not argv[i + 1].startswith("-"):
                i += 1
                value = argv[i]
            else:
                _fail([ConfigIssue(key, "expects a file path")], "the command line", console)
            if not value:
                _fail([ConfigIssue(key, "expects a file path")], "the command line", console)
            if key == "--config":
                opts.config = value
            else:
                opts.save_config = value
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
        _fail([ConfigIssue("", message)], "the command line", console)
    return None, None, rest


def _description(config_cls: type[BaseModel], description: str | None, presets: Mapping[str, tuple[str, C]] | None, chosen: str | None) -> str:
    head = description if description is not None else (config_cls.__doc__ or config_cls.__name__).strip()
    parts = [head]
    if presets:
        lines = [f"  {name}: {text}" + ("  [selected]" if name == chosen else "") for name, (text, _) in presets.items()]
        parts.append("Presets (first argument, e.g. `exp.py NAME --flag value`):\n" + "\n".join(lines))
    parts.append(_OWN_HELP)
    return "\n\n".join(parts)


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
    env = os.environ if environ is None else environ
    console = _rank(env) == 0
    argv = list(sys.argv[1:] if args is None else args)
    opts, rest = _split_options(argv, console)
    chosen, preset, rest = _pick_preset(rest, presets, console)
    start: C | None = preset if preset is not None else default

    base: C | None = start
    if opts.config is not None or _has_env(env, env_prefix):
        try:
            base = load_layered(config_cls, start, file=opts.config, environ=env, env_prefix=env_prefix)
        except ConfigError as exc:
            _fail(exc.issues, exc.source, console)
    # Without a base, tyro takes every default from the class fields: the root is validated once, after
    # parsing (building it here too would run the cross-field checks twice and slow down --help).

    unknown = unknown_tokens(config_cls, rest)
    if unknown:
        _fail(unknown, "the command line", console)
    rest = expand_negated_flags(config_cls, rest)
    help_text = _description(config_cls, description, presets, chosen)
    registry = deferred_registry()
    markers = (tyro.conf.CascadeSubcommandArgs,)
    parsed: object
    if base is None:
        parsed = tyro.cli(
            config_cls, args=rest, description=help_text, console_outputs=console, config=markers, registry=registry
        )
    else:
        parsed = tyro.cli(
            config_cls,
            default=base,
            args=rest,
            description=help_text,
            console_outputs=console,
            config=markers,
            registry=registry,
        )
    try:
        cfg = validate_deferred(config_cls, parsed, source="the command line")
    except ConfigError as exc:
        _fail(exc.issues, exc.source, console)

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


def _has_env(environ: Mapping[str, str], prefix: str | None) -> bool:
    return prefix is not None and any(k.startswith(prefix) and k != prefix for k in environ)


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


def reproduce_command(args: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The shell command that reproduces this invocation: ``TYPEDENGINE_…`` variables, python, script, args.

    The runner writes it next to the resolved config in ``work_dir``.
    """
    env = os.environ if environ is None else environ
    argv = list(sys.argv[1:] if args is None else args)
    assigns = [f"{k}={shlex.quote(v)}" for k, v in sorted(env.items()) if k.startswith(ENV_PREFIX)]
    command = ["python", sys.argv[0] if sys.argv and sys.argv[0] else "exp.py", *argv]
    return " ".join([*assigns, shlex.join(command)])
