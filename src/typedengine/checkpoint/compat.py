"""Resume compatibility: compare the config stored in a checkpoint with the new one and classify each change.

Every differing config path (dotted, ``optim_wrapper.optimizer.lr``) gets one of three levels:

* ``safe``   — cannot change what the resumed run computes: logging, visualisation, checkpoint cadence,
  hooks, validation and test settings, loader worker settings, work_dir/experiment name, and a longer or
  shorter run when no schedule ends with the run.
* ``apply``  — changes the optimisation on purpose and takes effect from the resume point, exactly as if
  the run had been configured that way from the start: optimizer hyperparameters (lr, momentum, betas,
  weight decay, ... with paramwise multipliers and auto_scale_lr applied as a fresh build does),
  parameter schedules and a run length schedules depend on (the schedulers are rebuilt and replayed to
  the resume point: :mod:`.resume_edits`), clipping, mixed-precision settings, determinism switches,
  compilation. Each applied field is logged once at WARNING level.
* ``refuse`` — the checkpoint cannot be continued meaningfully: the model (shapes, architecture), the
  training batch size, dataset or sampler (order and content of batches), the world size, the seed,
  gradient accumulation, the optimizer type, settings that shape the optimizer state (``amsgrad``,
  ``centered``, ``initial_accumulator_value``), the loss scaler's ``init_scale``, the train-loop type, and
  any path no rule knows. Refused unless forced (``--resume-force``); a forced resume recomputes every
  derived count from the new config (see :mod:`.resume_edits`).

Nothing is "warned and ignored". Some refusals can only be seen once the run is built (a different
param-group layout, a ReduceOnPlateau whose history cannot be replayed): :mod:`.resume_edits` raises
those. A union member swap (the ``type`` tag changed) is one difference at the union's path, unless the
swap itself applies (``optim_wrapper.type``: default <-> amp), then the common fields are compared too.
Paths are matched against :data:`DEFAULT_RULES` (``fnmatch`` patterns, first match wins; list indices are
written ``[*]`` in patterns); pass your own ``rules`` to extend them.

(Just over 400 lines: most of it is the rule table, which reads best in one place.)
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
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

CompatLevel = Literal["safe", "apply", "refuse"]

_MISSING = object()
_LEVEL_ORDER: dict[CompatLevel, int] = {"refuse": 0, "apply": 1, "safe": 2}


@dataclass(frozen=True)
class CompatRule:
    """Paths matching ``pattern`` (fnmatch over dotted paths; ``[*]`` for list indices) get ``level``.

    ``replays``: the change alters hyperparameter values or the schedule's shape, so a resume that
    applies it (or is forced through it) rebuilds the schedulers and replays them to the resume point.
    """

    pattern: str
    level: CompatLevel
    reason: str
    replays: bool = False

    def matches(self, path: str) -> bool:
        # "[*]" in a pattern is a literal list index, not an fnmatch character class
        pattern = self.pattern.replace("[*]", "\x00")
        return fnmatch.fnmatchcase(_generic(path).replace("[*]", "\x00"), pattern)


_REFUSE_MODEL = "the model changed: stored weights and optimizer state no longer describe it"
_REFUSE_DATA = "the training data or its order changed: the next batches would differ from the original run"
_REFUSE_OPTIMIZER = "the optimizer changed: its state cannot be reused"
_REFUSE_STATE_SHAPE = "shapes the optimizer state, which the checkpoint holds without it"
_APPLY_HYPER = "optimizer hyperparameter: the new value (and its schedule) acts from the resume point"
_APPLY_NOW = "takes effect from the resume point"

DEFAULT_RULES: tuple[CompatRule, ...] = (
    # --- refuse: the run cannot continue meaningfully
    CompatRule("model", "refuse", _REFUSE_MODEL),
    CompatRule("model.*", "refuse", _REFUSE_MODEL),
    CompatRule("model_wrapper*", "refuse", "the model wrapping (DDP/FSDP) changed"),
    CompatRule(
        "data_preprocessor*", "refuse", "the data preprocessing changed: batches reach the model differently"
    ),
    CompatRule("train_dataloader.batch_size", "refuse", "the training batch size changed", replays=True),
    CompatRule("train_dataloader.dataset", "refuse", _REFUSE_DATA, replays=True),
    CompatRule("train_dataloader.dataset.*", "refuse", _REFUSE_DATA, replays=True),
    CompatRule("train_dataloader.sampler", "refuse", _REFUSE_DATA),
    CompatRule("train_dataloader.sampler.*", "refuse", _REFUSE_DATA),
    CompatRule("train_dataloader.shuffle", "refuse", _REFUSE_DATA),
    CompatRule("train_dataloader.drop_last", "refuse", _REFUSE_DATA, replays=True),
    CompatRule("train_dataloader.collate*", "refuse", _REFUSE_DATA),
    CompatRule("seed", "refuse", "the seed changed: random streams would differ"),
    CompatRule("randomness.seed", "refuse", "the seed changed: random streams would differ"),
    CompatRule(
        "randomness.diff_rank_seed", "refuse", "per-rank seeding changed: random streams would differ"
    ),
    CompatRule(
        "*accumulative_counts", "refuse", "gradient accumulation changed: the effective batch differs"
    ),
    CompatRule("optim_wrapper*optimizer.type", "refuse", _REFUSE_OPTIMIZER),
    CompatRule("optim_wrapper*optimizer.target", "refuse", _REFUSE_OPTIMIZER),
    CompatRule("optim_wrapper*optimizer", "refuse", _REFUSE_OPTIMIZER),
    CompatRule("optim_wrapper*optimizer.amsgrad", "refuse", _REFUSE_STATE_SHAPE),
    CompatRule("optim_wrapper*optimizer.centered", "refuse", _REFUSE_STATE_SHAPE),
    CompatRule("optim_wrapper*optimizer.initial_accumulator_value", "refuse", _REFUSE_STATE_SHAPE),
    CompatRule(
        "optim_wrapper*scaler.init_scale",
        "refuse",
        "the loss scale is restored from the checkpoint: init_scale only sets the first value",
    ),
    CompatRule("train.type", "refuse", "the train loop type changed (epoch- vs iteration-based positions)"),
    CompatRule("train", "refuse", "the train loop changed"),
    CompatRule("train_dataloader", "refuse", _REFUSE_DATA),
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
    # --- apply: deliberate changes to the optimisation, in force from the resume point
    CompatRule("optim_wrapper*optimizer.*", "apply", _APPLY_HYPER, replays=True),
    CompatRule(
        "optim_wrapper*paramwise*", "apply", "paramwise multipliers of the same param groups", replays=True
    ),
    CompatRule("optim_wrapper*clip_grad*", "apply", "gradient clipping " + _APPLY_NOW),
    CompatRule("optim_wrapper*dtype", "apply", "the mixed-precision dtype " + _APPLY_NOW),
    CompatRule("optim_wrapper*loss_scale", "apply", "the loss-scale mode " + _APPLY_NOW),
    CompatRule("optim_wrapper*scaler.*", "apply", "loss-scaler growth settings " + _APPLY_NOW),
    CompatRule(
        "optim_wrapper*type",
        "apply",
        "the optim wrapper changed (mixed precision on/off): the grad scaler starts fresh",
    ),
    CompatRule(
        "optim_wrapper.wrappers*", "refuse", "the set of optimizers changed: their states cannot be matched"
    ),
    CompatRule(
        "param_scheduler*",
        "apply",
        "the parameter schedule: rebuilt and replayed to the resume point",
        replays=True,
    ),
    CompatRule(
        "auto_scale_lr*", "apply", "learning-rate scaling: re-applied from the resume point", replays=True
    ),
    CompatRule("randomness.*", "apply", "determinism settings " + _APPLY_NOW),
    CompatRule("compile*", "apply", "compilation " + _APPLY_NOW + " (kernels and rounding may differ)"),
)
"""The built-in classification; anything no rule matches is refused (see the module docstring)."""

_UNKNOWN = CompatRule(
    "*", "refuse", "no rule knows whether this setting changes the run; pass --resume-force if it does not"
)


def _generic(path: str) -> str:
    return re.sub(r"\[\d+\]", "[*]", path)


@dataclass(frozen=True)
class ConfigDifference:
    """One differing config path: the old and new values (JSON text, or ``<absent>``), its level and why;
    ``replays``: applying it (or forcing through it) rebuilds and replays the schedulers."""

    path: str
    old: str
    new: str
    level: CompatLevel
    reason: str
    replays: bool = False


@dataclass(frozen=True)
class CompatReport:
    """All differences between the stored and the new config, most serious first."""

    differences: tuple[ConfigDifference, ...] = ()
    forced: bool = False
    notes: tuple[str, ...] = field(default=())

    @property
    def refused(self) -> tuple[ConfigDifference, ...]:
        """The differences that prevent resuming (unless forced)."""
        return tuple(d for d in self.differences if d.level == "refuse")

    @property
    def applied(self) -> tuple[ConfigDifference, ...]:
        """The deliberate changes that take effect from the resume point."""
        return tuple(d for d in self.differences if d.level == "apply")

    @property
    def replays(self) -> tuple[ConfigDifference, ...]:
        """The differences (applied, or refused but forced) that need the schedulers replayed."""
        return tuple(d for d in self.differences if d.replays and d.level != "safe")

    @property
    def allowed(self) -> bool:
        """True when nothing is refused, or the refusal is overridden by ``force``."""
        return self.forced or not self.refused

    def raise_if_refused(self) -> None:
        """Raise :class:`IncompatibleResumeError` (carrying the table) unless :attr:`allowed`."""
        if not self.allowed:
            paths = ", ".join(d.path for d in self.refused)
            raise IncompatibleResumeError(
                f"cannot resume: {paths} changed since the checkpoint in a way the run cannot continue with "
                f"({len(self.refused)} refused); undo the change, or pass --resume-force to resume anyway\n"
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


def _walk(
    old: object, new: object, path: str, classify: Callable[[str, object, object], CompatRule]
) -> Iterator[tuple[str, object, object]]:
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        old, new = canonical_tags(old), canonical_tags(new)  # older checkpoints: snake-case or former tags
        swapped = "type" in old and "type" in new and old["type"] != new["type"]
        if swapped:
            tag = f"{path}.type" if path else "type"
            if classify(tag, old["type"], new["type"]).level != "apply":
                yield path, old, new  # a union member swap: one difference for the whole subtree
                return
            yield tag, old["type"], new["type"]  # an applied swap: its shared fields are compared as well
        keys = (set(old) & set(new)) - {"type"} if swapped else set(old) | set(new)
        for key in sorted(keys, key=str):
            sub = f"{path}.{key}" if path else str(key)
            yield from _walk(old.get(key, _MISSING), new.get(key, _MISSING), sub, classify)
        return
    if (
        isinstance(old, (list, tuple))
        and isinstance(new, (list, tuple))
        and len(old) == len(new)
        and any(isinstance(x, Mapping) for x in old)
    ):
        for i, (a, b) in enumerate(zip(old, new)):
            yield from _walk(a, b, f"{path}[{i}]", classify)
        return
    if _normal(old) != _normal(new):
        yield path, old, new


def _normal(value: object) -> object:
    """Tuples and lists compare equal (JSON has only lists); ints and equal floats too."""
    if isinstance(value, (list, tuple)):
        return [_normal(v) for v in value]
    return value


def _rule_for(path: str, rules: Sequence[CompatRule]) -> CompatRule:
    return next((rule for rule in rules if rule.matches(path)), _UNKNOWN)


def _schedule_ends_with_run(new_root: Mapping[str, object]) -> bool:
    """Whether some scheduler of the new config has no explicit ``end`` (it ends with the run)."""
    schedulers = new_root.get("param_scheduler")
    if not isinstance(schedulers, (list, tuple)):
        return False
    return any(isinstance(s, Mapping) and s.get("end") is None for s in schedulers)


def _classify(
    path: str, old: object, new: object, rules: Sequence[CompatRule], new_root: Mapping[str, object]
) -> CompatRule:
    leaf = path.rsplit(".", 1)[-1]
    if path.startswith("train.") and leaf in ("max_epochs", "max_iters"):
        longer = isinstance(old, (int, float)) and isinstance(new, (int, float)) and new >= old
        kind = "a longer run" if longer else "a shorter run"
        if _schedule_ends_with_run(new_root):
            return CompatRule(
                path, "apply", f"{kind}: the schedules that end with the run are replayed", replays=True
            )
        return CompatRule(path, "safe", f"{kind} (no schedule ends with the run)")
    if leaf == "type" and path.startswith("optim_wrapper") and "dict" in (old, new):
        return CompatRule(path, "refuse", "one optimizer vs several named ones: the states cannot be matched")
    return _rule_for(path, rules)


def diff_configs(
    old: Mapping[str, object], new: Mapping[str, object], *, rules: Sequence[CompatRule] = DEFAULT_RULES
) -> tuple[ConfigDifference, ...]:
    """Every differing path between two JSON config dicts, classified, most serious first (then by path)."""

    def classify(path: str, a: object, b: object) -> CompatRule:
        return _classify(path, a, b, rules, new)

    out = []
    for path, a, b in _walk(old, new, "", classify):
        rule = classify(path, a, b)
        out.append(ConfigDifference(path, _show(a), _show(b), rule.level, rule.reason, rule.replays))
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
        report.raise_if_refused()
        logger.info(report.render())
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
                replays=True,
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
