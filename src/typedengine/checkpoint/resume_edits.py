"""Resume with an edited config: the optimizer, schedulers and position a checkpoint gives the new run.

:func:`~typedengine.checkpoint.contents.apply_checkpoint` calls :func:`landing_point` (where the checkpoint's
progress lands in this run's :class:`~typedengine.runner.schedule.RunSchedule`) and then
:func:`restore_optimization`. The rules:

* **Nothing changed** that acts on the optimisation: the optimizer and scheduler states load as saved, so
  the resume is bit-exact.
* **A change that is applied** (``apply`` in :mod:`.compat`: lr, weight decay, momentum, betas, paramwise
  multipliers, auto_scale_lr, a scheduler field, a run length a schedule ends with) or **forced** through
  (batch size, world size): the run behaves from the resume point on exactly as if it had been configured
  that way from the start. The optimizer was built fresh from the new config (paramwise multipliers and the
  auto_scale_lr factor applied as in any fresh run) and the new config's schedulers were built on it; they
  are now stepped from the start to the resume point with the ParamSchedulerHook's rule
  (:func:`~typedengine.runner.schedule.replay_schedulers`, plain dict writes, no training), which leaves
  every scheduled value and every scheduler's progress where an uninterrupted run with the new config
  would have them. Then the optimizer state is loaded (moment buffers, step counts: they are kept) and the
  param groups' hyperparameters are set back to the replayed ones. Each applied field is logged once at
  WARNING level: ``optim_wrapper.optimizer.lr: 0.05 -> 0.01, applied from iter 61``.
* **Refused here** (:class:`~typedengine.checkpoint.errors.IncompatibleResumeError`, exit 2; the message
  names the field and ``--resume-force``), because only the built run shows them: a param-group layout that
  differs from the checkpoint's (e.g. paramwise rules added: the moment buffers cannot be mapped), an applied
  optimizer setting that is not a param-group key (it could not act on a loaded optimizer), and a replay
  with a ReduceOnPlateau scheduler (its reductions follow the validation history, which is not replayed).
  Forced: the first two start the optimizer state fresh, the third replays without the reductions; each
  says so at WARNING level. A forced optimizer-type change starts the optimizer state fresh as well.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ..runner.schedule import ResumePoint, RunSchedule, replay_schedulers
from .compat import CompatReport
from .errors import IncompatibleResumeError

if TYPE_CHECKING:
    from ..optim.wrapper import OptimWrapper
    from ..runner.runner import Runner

__all__ = ["landing_point", "restore_optimization"]


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def landing_point(schedule: RunSchedule, ckpt: Mapping[str, object]) -> ResumePoint:
    """Where ``ckpt``'s progress lands in a run with ``schedule`` (its ``sampler`` entry says with which
    batch size and world size the position was reached; older checkpoints store per-rank samples)."""
    run_state = ckpt.get("run_state")
    progress = run_state if isinstance(run_state, Mapping) else {}
    sampler_entry = ckpt.get("sampler")
    sampler = sampler_entry if isinstance(sampler_entry, Mapping) else {}
    meta_entry = ckpt.get("meta")
    meta = meta_entry if isinstance(meta_entry, Mapping) else {}
    world = _int(sampler.get("world_size")) or _int(meta.get("world_size")) or schedule.world_size
    batch = _int(sampler.get("batch_size")) or schedule.batch_size
    index = _int(sampler.get("sample_index"))
    per_rank = _int(sampler.get("samples_per_rank"))
    if index is None and per_rank is not None:
        index = per_rank * world
    return schedule.resume_point(
        epoch=_int(progress.get("epoch")) or 0,
        iter=_int(progress.get("iter")) or 0,
        inner_iter=_int(progress.get("inner_iter")) or 0,
        sample_index=index,
        batch_size=batch,
        world_size=world,
    )


def _named_wrappers(runner: Runner) -> list[tuple[str | None, OptimWrapper]]:
    from ..optim.wrapper import OptimWrapper

    wrapper = runner.optim_wrapper
    if wrapper is None:
        return []
    if isinstance(wrapper, OptimWrapper):
        return [(None, wrapper)]
    return list(wrapper.items())


def _saved_layout(state: Mapping[str, object], name: str | None) -> list[int] | None:
    """Sizes of the saved param groups (None when the state does not say)."""
    sub = state if name is None else state.get(name)
    groups = sub.get("param_groups") if isinstance(sub, Mapping) else None
    if not isinstance(groups, (list, tuple)):
        return None
    sizes = [
        len(g["params"])
        for g in groups
        if isinstance(g, Mapping) and isinstance(g.get("params"), (list, tuple))
    ]
    return sizes if len(sizes) == len(groups) else None


def _hyperparameters(wrappers: list[tuple[str | None, OptimWrapper]]) -> list[list[dict[str, Any]]]:
    """Every group's settings except its parameters (the base-settings pseudo group included)."""
    return [[{k: v for k, v in g.items() if k != "params"} for g in w.param_groups] for _, w in wrappers]


def _set_hyperparameters(
    wrappers: list[tuple[str | None, OptimWrapper]], values: list[list[dict[str, Any]]]
) -> None:
    for (_, wrapper), groups in zip(wrappers, values):
        for group, settings in zip(wrapper.param_groups, groups):
            params = group.get("params")
            group.clear()
            group.update(settings)
            if params is not None:
                group["params"] = params


@contextmanager
def _config_scaler_settings(wrappers: list[tuple[str | None, OptimWrapper]]) -> Iterator[None]:
    """Keep the loss scalers' growth settings of the new config across a state load (the scale itself and
    its growth tracker are progress and come from the checkpoint)."""
    kept = []
    for _, wrapper in wrappers:
        scaler = getattr(wrapper, "loss_scaler", None)
        if scaler is not None:
            kept.append(
                (
                    scaler,
                    scaler.get_growth_factor(),
                    scaler.get_backoff_factor(),
                    scaler.get_growth_interval(),
                )
            )
    yield
    for scaler, growth, backoff, interval in kept:
        scaler.set_growth_factor(growth)
        scaler.set_backoff_factor(backoff)
        scaler.set_growth_interval(interval)


def _optimizer_key(path: str) -> str | None:
    """The param-group key an ``...optimizer.<key>`` (or ``...optimizer.kwargs.<key>``) path sets."""
    head, sep, key = path.rpartition(".")
    if not sep:
        return None
    head = head.removesuffix(".kwargs")
    return key if head.endswith("optimizer") and key not in ("type", "target") else None


def _optimizer_type_changed(report: CompatReport) -> bool:
    return any(
        d.path.endswith(("optimizer", "optimizer.type", "optimizer.target")) and d.level == "refuse"
        for d in report.differences
    )


class _Refusals:
    """Collects what the built run cannot apply: raises unless forced, else records the fallback."""

    def __init__(self, runner: Runner, report: CompatReport) -> None:
        self.runner, self.report = runner, report

    def refuse(self, path: str, reason: str, forced_effect: str) -> None:
        if not self.report.forced:
            raise IncompatibleResumeError(
                f"cannot resume: {path}: {reason}; undo the change, or pass --resume-force to resume with "
                f"{forced_effect}"
            )
        self.runner.logger.warning(f"{path}: {reason}; resuming with {forced_effect} (--resume-force)")


def restore_optimization(
    runner: Runner, ckpt: Mapping[str, object], report: CompatReport, point: ResumePoint
) -> None:
    """Load (or rebuild, see the module docstring) the optimizer and scheduler state for ``point``."""
    wrappers = _named_wrappers(runner)
    if not wrappers:
        return
    state = ckpt.get("optimizer")
    refusals = _Refusals(runner, report)
    fresh = _optimizer_type_changed(report)  # only reachable forced: the state belongs to another optimizer
    if fresh:
        runner.logger.warning("the optimizer type changed (--resume-force): its state starts fresh")
    if isinstance(state, Mapping) and not fresh:
        for name, wrapper in wrappers:
            saved = _saved_layout(state, name)
            built = [len(g["params"]) for g in wrapper.optimizer.param_groups]
            if saved is not None and saved != built:
                changed = [
                    d.path for d in report.differences if "paramwise" in d.path or d.path.startswith("model")
                ]
                where = changed[0] if changed else "optim_wrapper" + (f".wrappers.{name}" if name else "")
                refusals.refuse(
                    where,
                    f"the checkpoint's optimizer has param groups of {saved} parameters but this "
                    f"config builds {built}, so its state (moment buffers) cannot be mapped onto them",
                    "a fresh optimizer state",
                )
                fresh = True
    group_keys = {k for _, w in wrappers for g in w.optimizer.param_groups for k in g}
    for d in report.applied:
        key = _optimizer_key(d.path)
        if key is not None and key not in group_keys and not fresh:
            refusals.refuse(
                d.path,
                f"{key!r} is not a param-group setting of the optimizer, "
                "so it cannot act on the loaded state",
                "a fresh optimizer state built with it",
            )
            fresh = True

    replay = bool(report.replays) or fresh
    schedulers = runner.param_schedulers
    if replay:
        plateau = [i for i, s in enumerate(schedulers) if s.need_val_args]
        if plateau:
            cause = report.replays[0].path if report.replays else "the optimizer state"
            refusals.refuse(
                f"param_scheduler[{plateau[0]}]",
                "ReduceOnPlateau's reductions follow the validation history, which cannot be "
                f"replayed to apply the change of {cause}",
                "the schedule rebuilt without the reductions made so far",
            )
        replay_schedulers(
            schedulers, runner.train_loop.schedule, epochs=point.epoch, inner_iters=point.inner_iter
        )
        replayed = _hyperparameters(wrappers)

    assert runner.optim_wrapper is not None
    if not isinstance(state, Mapping):
        runner.logger.warning("the checkpoint has no optimizer state: the optimizer starts fresh")
    elif not fresh:
        with _config_scaler_settings(wrappers):
            runner.optim_wrapper.load_state_dict(state)
    if replay:
        _set_hyperparameters(wrappers, replayed)
    else:
        _load_scheduler_states(runner, ckpt)
    for d in report.applied:
        runner.logger.warning(f"{d.path}: {d.old} -> {d.new}, applied from iter {point.iter + 1}")


def _load_scheduler_states(runner: Runner, ckpt: Mapping[str, object]) -> None:
    """The saved scheduler progress, pairwise (an unchanged config builds the same list)."""
    saved = ckpt.get("param_schedulers")
    schedulers = runner.param_schedulers
    if not schedulers:
        return
    if not isinstance(saved, (list, tuple)):
        runner.logger.warning("the checkpoint has no scheduler state: the schedules start from the beginning")
        return
    if len(saved) != len(schedulers):
        if not runner.resume_force:
            raise IncompatibleResumeError(
                f"cannot resume: the checkpoint holds {len(saved)} parameter scheduler state(s) "
                f"but the run has {len(schedulers)}; build the same schedulers, or pass --resume-force to "
                "load the matching ones"
            )
        runner.logger.warning(
            f"loading {min(len(saved), len(schedulers))} of {len(saved)} scheduler states (--resume-force)"
        )
    for scheduler, sstate in zip(schedulers, saved):
        if isinstance(sstate, Mapping):
            scheduler.load_state_dict(sstate)
