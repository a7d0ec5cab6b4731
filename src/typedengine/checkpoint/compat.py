"""Resume compatibility: compare the config stored in a checkpoint with the new one and classify each change.

Every differing config path (dotted, ``optim_wrapper.optimizer.lr``) gets one of three levels:

* ``safe``   — cannot change what the resumed run computes: a longer run (``train.max_epochs`` or
  ``train.max_iters`` increased), logging, visualisation, checkpoint cadence, hooks, validation and test
  settings, loader worker settings, work_dir/experiment name.
* ``warn``   — changes the optimisation on purpose and is allowed (printed): optimizer hyperparameters
  (lr, momentum, weight decay, clipping, parameter-wise rules), parameter schedulers, a shorter run,
  determinism switches, and any path no rule knows.
* ``refuse`` — the checkpoint cannot be continued exactly: the model (shapes, architecture), the training
  batch size, the training dataset or sampler (order and content of batches), the world size, the seed,
  gradient accumulation, the optimizer or train-loop type. Refused unless forced (``--resume-force``).

A union member swap (the ``type`` tag changed) is one difference at the union's path, not one per field.
Paths are matched against :data:`DEFAULT_RULES` (``fnmatch`` patterns, first match wins; list indices are
written ``[*]`` in patterns); pass your own ``rules`` to extend them.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from ..config.base import canonical_tags
from .errors import IncompatibleResumeError

__all__ = [
    "DEFAULT_RULES",
    "CompatLevel",
    "CompatReport",
    "CompatRule",
    "ConfigDifference",
    "check_resume_compat",
    "diff_configs",
]

CompatLevel = Literal["safe", "warn", "refuse"]

_MISSING = object()
_LEVEL_ORDER: dict[CompatLevel, int] = {"refuse": 0, "warn": 1, "safe": 2}


@dataclass(frozen=True)
class CompatRule:
    """Paths matching ``pattern`` (fnmatch over dotted paths; ``[*]`` for list indices) get ``level``."""

    pattern: str
    level: CompatLevel
    reason: str

    def matches(self, path: str) -> bool:
        # "[*]" in a pattern is a literal list index, not an fnmatch character class
        pattern = self.pattern.replace("[*]", "\x00")
        return fnmatch.fnmatchcase(_generic(path).replace("[*]", "\x00"), pattern)


_REFUSE_MODEL = "the model changed: stored weights and optimizer state no longer describe it"
_REFUSE_DATA = "the training data or its order changed: the next batches would differ from the original run"

DEFAULT_RULES: tuple[CompatRule, ...] = (
    # --- refuse: the run cannot continue exactly
    CompatRule("model", "refuse", _REFUSE_MODEL),
    CompatRule("model.*", "refuse", _REFUSE_MODEL),
    CompatRule("model_wrapper*", "refuse", "the model wrapping (DDP/FSDP) changed"),
    CompatRule("train_dataloader.batch_size", "refuse", "the training batch size changed"),
    CompatRule("train_dataloader.dataset", "refuse", _REFUSE_DATA),
    CompatRule("train_dataloader.dataset.*", "refuse", _REFUSE_DATA),
    CompatRule("train_dataloader.sampler", "refuse", _REFUSE_DATA),
    CompatRule("train_dataloader.sampler.*", "refuse", _REFUSE_DATA),
    CompatRule("train_dataloader.shuffle", "refuse", _REFUSE_DATA),
    CompatRule("train_dataloader.drop_last", "refuse", _REFUSE_DATA),
    CompatRule("train_dataloader.collate*", "refuse", _REFUSE_DATA),
    CompatRule("train_dataloader", "refuse", _REFUSE_DATA),
    CompatRule("seed", "refuse", "the seed changed: random streams would differ"),
    CompatRule("randomness.seed", "refuse", "the seed changed: random streams would differ"),
    CompatRule(
        "randomness.diff_rank_seed", "refuse", "per-rank seeding changed: random streams would differ"
    ),
    CompatRule(
        "*accumulative_counts", "refuse", "gradient accumulation changed: the effective batch differs"
    ),
    CompatRule(
        "optim_wrapper.optimizer.type", "refuse", "the optimizer type changed: its state cannot be reused"
    ),
    CompatRule("optim_wrapper.optimizer", "refuse", "the optimizer changed: its state cannot be reused"),
    CompatRule("optim_wrapper.type", "warn", "the optimizer wrapper changed (e.g. mixed precision on/off)"),
    CompatRule("train.type", "refuse", "the train loop type changed (epoch- vs iteration-based positions)"),
    CompatRule("train", "refuse", "the train loop changed"),
    # --- safe: bookkeeping, evaluation, output
    CompatRule("train.val_*", "safe", "validation cadence"),
    CompatRule("train.dynamic_intervals*", "safe", "validation cadence"),
    CompatRule("val*", "safe", "validation settings do not affect training"),
    CompatRule("test*", "safe", "test settings do not affect training"),
    CompatRule("default_hooks*", "safe", "hooks (logging, checkpoint cadence, ...)"),
    CompatRule("hooks*", "safe", "hooks (logging, checkpoint cadence, ...)"),
    CompatRule("custom_hooks*", "safe", "hooks"),
    CompatRule("log*", "safe", "logging"),
    CompatRule("visualizer*", "safe", "logging backends"),
    CompatRule("vis_backends*", "safe", "logging backends"),
    CompatRule("work_dir", "safe", "output location"),
    CompatRule("experiment_name", "safe", "output naming"),
    CompatRule("resume*", "safe", "resume settings"),
    CompatRule("load_from", "safe", "ignored when resuming"),
    CompatRule("launcher", "safe", "the launcher (world size is compared separately)"),
    CompatRule("env*", "safe", "process environment"),
    CompatRule("dist*", "safe", "process environment (world size is compared separately)"),
    CompatRule("train_dataloader.num_workers", "safe", "loader workers do not change batch content"),
    CompatRule("train_dataloader.pin_memory", "safe", "loader performance setting"),
    CompatRule("train_dataloader.persistent_workers", "safe", "loader performance setting"),
    CompatRule("train_dataloader.prefetch_factor", "safe", "loader performance setting"),
    # --- warn: deliberate changes to optimisation
    CompatRule(
        "optim_wrapper.*", "warn", "optimizer hyperparameters changed: training continues differently"
    ),
    CompatRule("param_scheduler*", "warn", "the learning-rate/parameter schedule changed"),
    CompatRule("auto_scale_lr*", "warn", "learning-rate scaling changed"),
    CompatRule("randomness.*", "warn", "determinism settings changed"),
    CompatRule("compile*", "warn", "compilation changed: kernels (and rounding) may differ"),
)


def _generic(path: str) -> str:
    return re.sub(r"\[\d+\]", "[*]", path)


@dataclass(frozen=True)
class ConfigDifference:
    """One differing config path: the old and new values (JSON text, or ``<absent>``), its level and why."""

    path: str
    old: str
    new: str
    level: CompatLevel
    reason: str


@dataclass(frozen=True)
class CompatReport:
    """All differences between the stored and the new config, most serious first."""

    differences: tuple[ConfigDifference, ...] = ()
    forced: bool = False
    notes: tuple[str, ...] = field(default=())

    @property
    def refused(self) -> tuple[ConfigDifference, ...]:
        """The differences that prevent an exact resume."""
        return tuple(d for d in self.differences if d.level == "refuse")

    @property
    def warnings(self) -> tuple[ConfigDifference, ...]:
        return tuple(d for d in self.differences if d.level == "warn")

    @property
    def allowed(self) -> bool:
        """True when nothing is refused, or the refusal is overridden by ``force``."""
        return self.forced or not self.refused

    def raise_if_refused(self) -> None:
        """Raise :class:`IncompatibleResumeError` (with the table) unless :attr:`allowed`."""
        if not self.allowed:
            raise IncompatibleResumeError(
                "cannot resume: the config differs from the checkpoint's in ways that change the run "
                f"({len(self.refused)} refused); pass force (--resume-force) to resume anyway\n"
                + self.render(rich=False)
            )

    def render(self, *, rich: bool = True, width: int = 110) -> str:
        """The differences as a table (rich box drawing, or plain aligned text with ``rich=False``)."""
        if not self.differences and not self.notes:
            return "config unchanged since the checkpoint"
        if rich:
            return self._render_rich(width)
        return self._render_plain()

    def _rows(self) -> Iterator[tuple[str, str, str, str, str]]:
        for d in self.differences:
            level = d.level.upper() + (" (forced)" if d.level == "refuse" and self.forced else "")
            yield (level, d.path, _clip(d.old), _clip(d.new), d.reason)

    def _render_plain(self) -> str:
        header = ("level", "path", "checkpoint", "now", "why")
        rows = [header, *self._rows()]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines = [
            "  ".join(cell.ljust(widths[i]) if i < 4 else cell for i, cell in enumerate(r)) for r in rows
        ]
        lines.insert(1, "  ".join("-" * w for w in widths) + "  ---")
        lines.extend(f"note: {n}" for n in self.notes)
        return "\n".join(line.rstrip() for line in lines)

    def _render_rich(self, width: int) -> str:
        import io

        from rich.console import Console
        from rich.table import Table

        table = Table(title="Resume: config changes since the checkpoint", title_justify="left")
        for name in ("level", "path", "checkpoint", "now", "why"):
            table.add_column(name, overflow="fold")
        for row in self._rows():
            table.add_row(*row)
        buffer = io.StringIO()
        console = Console(
            file=buffer, width=width, color_system=None, force_terminal=False, legacy_windows=False
        )
        console.print(table)
        for n in self.notes:
            console.print(f"note: {n}")
        return buffer.getvalue().rstrip()


def _clip(text: str, limit: int = 48) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _show(value: object) -> str:
    if value is _MISSING:
        return "<absent>"
    return json.dumps(value, sort_keys=True, default=str)


def _walk(old: object, new: object, path: str) -> Iterator[tuple[str, object, object]]:
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        old, new = canonical_tags(old), canonical_tags(new)  # older checkpoints: snake-case or former tags
        if "type" in old and "type" in new and old["type"] != new["type"]:
            yield path, old, new  # a union member swap: one difference for the whole subtree
            return
        for key in sorted(set(old) | set(new), key=str):
            sub = f"{path}.{key}" if path else str(key)
            yield from _walk(old.get(key, _MISSING), new.get(key, _MISSING), sub)
        return
    if (
        isinstance(old, (list, tuple))
        and isinstance(new, (list, tuple))
        and len(old) == len(new)
        and any(isinstance(x, Mapping) for x in old)
    ):
        for i, (a, b) in enumerate(zip(old, new)):
            yield from _walk(a, b, f"{path}[{i}]")
        return
    if _normal(old) != _normal(new):
        yield path, old, new


def _normal(value: object) -> object:
    """Tuples and lists compare equal (JSON has only lists); ints and equal floats too."""
    if isinstance(value, (list, tuple)):
        return [_normal(v) for v in value]
    return value


def _classify(path: str, old: object, new: object, rules: Sequence[CompatRule]) -> tuple[CompatLevel, str]:
    leaf = path.rsplit(".", 1)[-1]
    run_length = path.startswith("train.") and leaf in ("max_epochs", "max_iters")
    if run_length and isinstance(old, (int, float)) and isinstance(new, (int, float)):
        if new >= old:
            return "safe", "a longer run"
        return "warn", "a shorter run: training may already be past the new end"
    for rule in rules:
        if rule.matches(path):
            return rule.level, rule.reason
    return "warn", "no rule knows this setting"


def diff_configs(
    old: Mapping[str, object], new: Mapping[str, object], *, rules: Sequence[CompatRule] = DEFAULT_RULES
) -> tuple[ConfigDifference, ...]:
    """Every differing path between two JSON config dicts, classified, most serious first (then by path)."""
    out = []
    for path, a, b in _walk(old, new, ""):
        level, reason = _classify(path, a, b, rules)
        out.append(ConfigDifference(path, _show(a), _show(b), level, reason))
    out.sort(key=lambda d: (_LEVEL_ORDER[d.level], d.path))
    return tuple(out)


def check_resume_compat(
    old: Mapping[str, object] | None,
    new: Mapping[str, object] | None,
    *,
    world_size_old: int,
    world_size_new: int,
    force: bool,
    rules: Sequence[CompatRule] = DEFAULT_RULES,
) -> CompatReport:
    """Classify the differences between the checkpoint's config (``old``) and the new run's (``new``).

    Either config may be None (a runner built from objects, not a config): then only the world size is
    compared and a note says so. Call :meth:`CompatReport.raise_if_refused` to enforce the verdict.

    Example::

        report = check_resume_compat(ckpt["config"], cfg.model_dump(mode="json"),
                                     world_size_old=2, world_size_new=2, force=False)
        logger.info(report.render())
        report.raise_if_refused()
    """
    diffs: list[ConfigDifference] = []
    notes: list[str] = []
    if world_size_old != world_size_new:
        diffs.append(
            ConfigDifference(
                "<world size>",
                str(world_size_old),
                str(world_size_new),
                "refuse",
                "the number of processes changed: per-rank data shards and random streams differ",
            )
        )
    if old is None or new is None:
        notes.append(
            "no config to compare ("
            + ("the checkpoint holds none" if old is None else "this run was not built from a config")
            + "); only the world size was checked"
        )
    else:
        diffs.extend(diff_configs(old, new, rules=rules))
    diffs.sort(key=lambda d: (_LEVEL_ORDER[d.level], d.path))
    return CompatReport(tuple(diffs), forced=force, notes=tuple(notes))
