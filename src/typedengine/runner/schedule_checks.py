"""Config-time checks of a run's cadences against its schedule (pure Python; nothing is built).

:func:`schedule_issues` is called by :func:`typedengine.runner.config.cross_field_issues`. It refuses
what would silently not do what the config says:

* a checkpoint hook counting epochs (``by_epoch=True``, the default) in an iteration-based run: the run
  is one "epoch", so no periodic checkpoint is written and epoch_1.pth appears once at the end. The fix
  is ``--default-hooks.checkpoint.no-by-epoch``, as MMEngine requires ``by_epoch=False`` there; the
  default is kept (rather than following the loop kind) so a config reads the same as its MMEngine
  original and the rule is the one the schedulers' ``by_epoch`` already follows. The logger needs no
  such rule: it counts inside the epoch or globally by itself, following the loop.
* a scheduler window (``end``) or its shape (``T_max``, ``total_steps``) ending after the run: the decay
  never completes (a cosine stops half way, a warmup never reaches its target). ``end=None`` means the
  end of the run and is always right.

The run length comes from :meth:`RunSchedule.from_config` at world size 1 (the config does not know the
process count); under DDP an iteration-based window is checked again by the numbers ``--plan`` prints.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..config.errors import ConfigIssue
from .schedule import RunSchedule, SaveCadence

if TYPE_CHECKING:
    from ..optim.schedulers.choices import ParamSchedulerConfig
    from .config import RunnerConfig

__all__ = ["schedule_issues"]


def schedule_issues(cfg: RunnerConfig) -> list[ConfigIssue]:
    """Every cadence / scheduler-window problem of ``cfg``'s training part (empty when consistent)."""
    schedule = RunSchedule.from_config(cfg)
    if schedule is None:
        return []
    issues = _checkpoint_issues(cfg, schedule)
    for i, sched in enumerate(cfg.param_scheduler):
        issues.extend(_window_issues(sched, f"param_scheduler[{i}]", schedule))
    return issues


def _checkpoint_issues(cfg: RunnerConfig, schedule: RunSchedule) -> list[ConfigIssue]:
    from ..hooks.checkpoint import CheckpointHookConfig

    hooks: list[tuple[str, CheckpointHookConfig, str]] = []
    if cfg.default_hooks.checkpoint is not None:
        hooks.append(
            (
                "default_hooks.checkpoint",
                cfg.default_hooks.checkpoint,
                "--default-hooks.checkpoint.no-by-epoch",
            )
        )
    for i, hook in enumerate(cfg.custom_hooks):
        if isinstance(hook, CheckpointHookConfig):
            hooks.append((f"custom_hooks[{i}]", hook, '"by_epoch": false in that entry'))
    issues: list[ConfigIssue] = []
    for path, hook, fix in hooks:
        cadence = SaveCadence(
            interval=hook.interval,
            by_epoch=hook.by_epoch,
            save_begin=hook.save_begin,
            save_last=hook.save_last,
        )
        problem = schedule.cadence_problem(cadence)
        if problem is not None:
            issues.append(
                ConfigIssue(f"{path}.by_epoch", f"{problem}; set {fix} to save every `interval` iterations")
            )
    return issues


def _window_issues(sched: ParamSchedulerConfig, here: str, schedule: RunSchedule) -> list[ConfigIssue]:
    """``end`` / ``T_max`` / ``total_steps`` beyond the run, compared in the scheduler's own unit."""
    if sched.by_epoch and not schedule.by_epoch and not sched.convert_to_iter_based:
        return []  # it never steps at all: check_param_schedulers reports that
    limit = _limit(schedule, epochs=sched.by_epoch)
    if limit is None:
        return []
    length, unit = limit
    issues: list[ConfigIssue] = []
    if sched.end is not None and sched.end > length:
        issues.append(
            ConfigIssue(
                f"{here}.end",
                f"the window ends at {sched.end} {unit} but the run has {_show(length)} {unit}, "
                f"so the schedule never completes; set end <= {int(length)}, or leave it unset "
                "(the end of the run)",
            )
        )
    for field in ("T_max", "total_steps"):
        steps = getattr(sched, field, None)
        if isinstance(steps, int) and sched.begin + steps > length:
            issues.append(
                ConfigIssue(
                    f"{here}.{field}",
                    f"{field}={steps} from step {sched.begin} ends at {sched.begin + steps} {unit} "
                    f"but the run has {_show(length)} {unit}, so the schedule never completes",
                )
            )
    return issues


def _limit(schedule: RunSchedule, *, epochs: bool) -> tuple[float, str] | None:
    """The run length in epochs (an iteration-based run: passes over the data, maybe fractional) or
    iterations, with its unit; None when unknown."""
    if not epochs:
        return (schedule.max_iters, "iterations") if schedule.max_iters is not None else None
    if schedule.by_epoch:
        return schedule.max_epochs, "epochs"
    passes = schedule.pass_length
    return (schedule.run_length / passes, "epochs (passes over the data)") if passes else None


def _show(length: float) -> str:
    return str(int(length)) if float(length).is_integer() else f"{length:.4g}"
