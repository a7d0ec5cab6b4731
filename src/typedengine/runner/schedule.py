"""RunSchedule: the one answer to every "when" and "how long" question of a training run.

It is derived once — from the train-loop config and the dataset's declared length (``--plan``, config
checks; :meth:`RunSchedule.from_config`), or from the built loop and its loader at run time (the loops
make theirs) — and asked by everyone else: the loops (run length, validation, where a resume starts in
the sampler), the CheckpointHook and LoggerHook (when they fire), the ParamSchedulerHook (which
schedulers step at an event), ``--plan`` (all of it, printed) and resume (where a checkpoint lands in a
possibly changed run, replaying the schedulers up to there). Nothing else computes iterations per
epoch, validation/save/log points or the LR-scale factor.

Pure Python (no torch import): ``--plan`` and config validation use it before anything is built.

Conventions (RunState's): counts are *completed* counts, so questions read "after N epochs/iterations"
(1-based); ``iters_per_epoch`` is per process; a sample index is global (all ranks together), so a
position survives a change of world size or batch size.

(About 400 lines on purpose: every cadence rule is here, in one module, so none can drift from another.)
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from .config import RunnerConfig

__all__ = [
    "LogCadence",
    "ResumePoint",
    "RunSchedule",
    "SaveCadence",
    "SchedulerLike",
    "StandInTarget",
    "advance_schedulers",
    "feed_metrics",
    "interval_at",
    "loader_length",
    "replay_schedulers",
    "should_validate",
]

SchedulerEvent = Literal["iter", "epoch"]


def loader_length(samples: int, batch_size: int, world_size: int, *, drop_last: bool) -> int:
    """Batches per process in one pass over ``samples``: typedengine's samplers pad every rank to
    ``ceil(samples / world_size)`` indices, then the loader batches them."""
    per_rank = math.ceil(samples / world_size)
    return per_rank // batch_size if drop_last else math.ceil(per_rank / batch_size)


# --- validation cadence ---------------------------------------------------------------------------------
def interval_at(count: int, base_interval: int, dynamic_intervals: Sequence[tuple[int, int]]) -> int:
    """The validation interval in force once ``count`` epochs/iterations are complete.

    ``dynamic_intervals=((m, k), ...)`` switches the interval to ``k`` from the ``m``-th epoch/iteration on
    (inclusive). MMEngine applies the switch one step early (``(6, 1)`` validates after epoch 5 too); we
    apply it where it says.
    """
    if not dynamic_intervals:
        return base_interval
    milestones = [m for m, _ in dynamic_intervals]
    i = bisect.bisect_right(milestones, count)
    return base_interval if i == 0 else dynamic_intervals[i - 1][1]


def should_validate(
    count: int, *, total: int, val_begin: int, val_interval: int, dynamic_intervals: Sequence[tuple[int, int]]
) -> bool:
    """Validate after ``count`` completed epochs/iterations? The last one always validates (if >= begin)."""
    if count < val_begin:
        return False
    interval = interval_at(count, val_interval, dynamic_intervals)
    return count % interval == 0 or count == total


# --- hook cadences (plain values the hooks hold; the rules live in RunSchedule) --------------------------
@dataclass(frozen=True)
class SaveCadence:
    """When regular checkpoints are due: every ``interval`` epochs (``by_epoch``) or iterations counted
    from ``save_begin``, plus the last one when ``save_last`` (the CheckpointHook's settings)."""

    interval: int
    by_epoch: bool
    save_begin: int = 0
    save_last: bool = True

    def due(self, count: int) -> bool:
        """MMEngine's ``every_n``: ``count >= save_begin`` and ``(count - save_begin) % interval == 0``
        (``count >= 1``: nothing is saved before anything ran)."""
        return (
            self.interval > 0
            and count >= max(self.save_begin, 1)
            and (count - self.save_begin) % self.interval == 0
        )


@dataclass(frozen=True)
class LogCadence:
    """When a train log line is due (the LoggerHook's settings): every ``interval_iters`` iterations,
    counted inside the epoch for epoch-based loops and globally for iteration-based ones; ``ignore_last``
    skips the partial last window of an epoch (unless the epoch is no longer than one interval) or, in an
    iteration-based run, the last iteration."""

    interval_iters: int
    ignore_last: bool = True


@dataclass(frozen=True)
class ResumePoint:
    """Where a checkpoint's progress lands in this run: completed epochs, iterations and iterations inside
    the current epoch, plus the global sample index the sampler continues from and whether the position
    moved (forced resume with another batch size or world size)."""

    epoch: int
    iter: int
    inner_iter: int
    sample_index: int
    moved: bool = False


# --- the schedule ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunSchedule:
    """The run's structure and cadence (see the module docstring).

    ``run_length`` is ``max_epochs`` for epoch-based loops and ``max_iters`` for iteration-based ones.
    ``iters_per_epoch`` (epoch-based): batches per process per epoch, None when the loader length is
    unknown. ``pass_length`` (iteration-based): batches per process in one pass over the data, the "epoch"
    that ``convert_to_iter_based`` schedulers are written in; None when the dataset length is unknown.
    """

    by_epoch: bool
    run_length: int
    iters_per_epoch: int | None = None
    pass_length: int | None = None
    val_begin: int = 1
    val_interval: int = 1
    dynamic_intervals: tuple[tuple[int, int], ...] = ()
    batch_size: int = 1
    world_size: int = 1
    samples: int | None = None
    """Training samples (the dataset length), when known."""

    def __post_init__(self) -> None:
        if self.run_length < 1 or self.batch_size < 1 or self.world_size < 1:
            raise ValueError(f"run_length, batch_size and world_size must be >= 1: {self}")

    # -- construction ------------------------------------------------------------------------------------
    @classmethod
    def from_config(cls, cfg: RunnerConfig, *, world_size: int = 1) -> RunSchedule | None:
        """The schedule of ``cfg``'s training part (None when it has none), from declared lengths only."""
        train, loader = cfg.train, cfg.train_dataloader
        if train is None or loader is None:
            return None
        samples = loader.dataset.declared_length()
        length = (
            None
            if samples is None
            else loader_length(samples, loader.batch_size, world_size, drop_last=loader.drop_last)
        )
        return cls(
            by_epoch=train.by_epoch,
            run_length=train.run_length(),
            iters_per_epoch=length if train.by_epoch else None,
            pass_length=None
            if train.by_epoch or samples is None
            else loader_length(samples, loader.batch_size, world_size, drop_last=False),
            val_begin=train.val_begin,
            val_interval=train.val_interval,
            dynamic_intervals=train.dynamic_intervals,
            batch_size=loader.batch_size,
            world_size=world_size,
            samples=samples,
        )

    # -- length ------------------------------------------------------------------------------------------
    @property
    def max_epochs(self) -> int:
        """Epochs of the run; 1 for an iteration-based loop (one endless pass)."""
        return self.run_length if self.by_epoch else 1

    @property
    def max_iters(self) -> int | None:
        """Iterations of the run (per process); None when the epoch length is unknown."""
        if not self.by_epoch:
            return self.run_length
        return None if self.iters_per_epoch is None else self.run_length * self.iters_per_epoch

    @property
    def iters_in_epoch(self) -> int | None:
        """Iterations between two epoch events: the loader length, or the whole run for iteration loops."""
        return self.iters_per_epoch if self.by_epoch else self.run_length

    @property
    def epoch_length(self) -> int | None:
        """What ``convert_to_iter_based`` multiplies epochs by: iterations per epoch, or per pass over the
        data in an iteration-based run."""
        return self.iters_per_epoch if self.by_epoch else self.pass_length

    def lr_scale(self, base_batch_size: int) -> float:
        """``auto_scale_lr``'s factor: batch size x world size / base batch size (MMEngine's linear rule)."""
        from ..optim.auto_scale_lr import lr_scale_factor

        return lr_scale_factor(
            batch_size=self.batch_size, world_size=self.world_size, base_batch_size=base_batch_size
        )

    # -- validation --------------------------------------------------------------------------------------
    def validates_after(self, count: int) -> bool:
        """Validate after ``count`` completed epochs (epoch-based) or iterations (iteration-based)?"""
        return should_validate(
            count,
            total=self.run_length,
            val_begin=self.val_begin,
            val_interval=self.val_interval,
            dynamic_intervals=self.dynamic_intervals,
        )

    def validation_points(self) -> tuple[int, ...]:
        """Epochs (or iterations) after which validation runs."""
        return tuple(c for c in range(1, self.run_length + 1) if self.validates_after(c))

    # -- checkpoints -------------------------------------------------------------------------------------
    def saves_after_iter(self, done_iters: int, cadence: SaveCadence) -> bool:
        """A regular checkpoint after ``done_iters`` iterations? (only iteration cadences save here)"""
        if cadence.by_epoch:
            return False
        return cadence.due(done_iters) or (cadence.save_last and done_iters == self.max_iters)

    def saves_after_epoch(self, done_epochs: int, cadence: SaveCadence) -> bool:
        """A regular checkpoint after ``done_epochs`` epochs? (only epoch cadences save here)"""
        if not cadence.by_epoch:
            return False
        return cadence.due(done_epochs) or (cadence.save_last and done_epochs == self.max_epochs)

    def checkpoint_points(self, cadence: SaveCadence) -> tuple[tuple[int, ...], tuple[int, ...] | None]:
        """(epochs, global iterations) after which regular checkpoints are written; iterations are None
        when the epoch length is unknown. Epochs are empty for an iteration cadence."""
        if cadence.by_epoch:
            epochs = tuple(e for e in range(1, self.max_epochs + 1) if self.saves_after_epoch(e, cadence))
            per_epoch = self.iters_in_epoch
            return epochs, None if per_epoch is None else tuple(e * per_epoch for e in epochs)
        if self.max_iters is None:
            return (), None
        return (), tuple(i for i in range(1, self.max_iters + 1) if self.saves_after_iter(i, cadence))

    def cadence_problem(self, cadence: SaveCadence) -> str | None:
        """Why ``cadence`` cannot work with this loop (None when it can): an epoch cadence in an
        iteration-based run has one "epoch", so it never saves periodically and writes epoch_1.pth once."""
        if cadence.by_epoch and not self.by_epoch:
            return (
                "by_epoch=True in an iteration-based run: the whole run is one epoch, so no periodic "
                "checkpoint would be written (only epoch_1.pth at the end)"
            )
        return None

    # -- log lines ---------------------------------------------------------------------------------------
    def logs_after_iter(self, done_iters: int, done_in_epoch: int, cadence: LogCadence) -> bool:
        """A train log line after this iteration? ``done_iters`` counts globally, ``done_in_epoch`` inside
        the epoch (both include the iteration that just ran)."""
        k = cadence.interval_iters
        if not self.by_epoch:
            return done_iters % k == 0 or (done_iters == self.run_length and not cadence.ignore_last)
        if done_in_epoch % k == 0:
            return True
        n = self.iters_per_epoch
        return n is not None and done_in_epoch == n and (not cadence.ignore_last or n <= k)

    def log_points(self, cadence: LogCadence) -> tuple[int, ...] | None:
        """Global iterations after which a train log line is written (None: epoch length unknown)."""
        per_epoch = self.iters_in_epoch
        if per_epoch is None:
            return None
        return tuple(
            e * per_epoch + d
            for e in range(self.max_epochs)
            for d in range(1, per_epoch + 1)
            if self.logs_after_iter(e * per_epoch + d, d, cadence)
        )

    # -- sampler position and resume ---------------------------------------------------------------------
    def rank_start(self, done: int) -> int:
        """Indices this rank's sampler skips to continue after ``done`` batches of the epoch (epoch-based)
        or of the run (iteration-based)."""
        return done * self.batch_size

    def sample_index(self, done: int) -> int:
        """Global index of the next sample after ``done`` batches of the epoch (iteration-based: of the run),
        counting every rank's samples (what a checkpoint stores as the sampler position)."""
        return done * self.batch_size * self.world_size

    def resume_point(
        self,
        *,
        epoch: int,
        iter: int,
        inner_iter: int,
        sample_index: int | None,
        batch_size: int,
        world_size: int,
    ) -> ResumePoint:
        """Where a checkpoint saved with ``batch_size`` x ``world_size`` (its progress and global sample
        index) lands in this run. Unchanged sizes: exactly where it stopped. Changed ones (a forced
        resume): epoch-based runs keep the epoch and continue at the sample index rounded down to a whole
        batch of this run (at most one batch per rank is seen again), with ``iter`` recounted in this run's
        epochs; iteration-based runs keep ``iter`` and continue the data stream as if this batch size had
        been used from the start.
        """
        if sample_index is None:
            sample_index = inner_iter * batch_size * world_size
        if (batch_size, world_size) == (self.batch_size, self.world_size):
            return ResumePoint(epoch, iter, inner_iter, sample_index)
        if not self.by_epoch:
            return ResumePoint(0, iter, iter, self.sample_index(iter), moved=True)
        per_epoch = self.iters_per_epoch
        if per_epoch is None:
            raise ValueError("cannot map a resume position onto a loader without a length")
        epoch_samples = (
            None if self.samples is None else math.ceil(self.samples / self.world_size) * self.world_size
        )
        if epoch_samples is not None and sample_index >= epoch_samples:
            inner = per_epoch
        else:
            inner = min(sample_index // (self.batch_size * self.world_size), per_epoch)
        return ResumePoint(epoch, epoch * per_epoch + inner, inner, self.sample_index(inner), moved=True)

    # -- scheduler events --------------------------------------------------------------------------------
    def scheduler_events(self, *, epochs: int, inner_iters: int) -> Iterator[SchedulerEvent]:
        """The scheduler events of a run from its start to ``epochs`` completed epochs plus ``inner_iters``
        iterations: an ``"iter"`` after every iteration and an ``"epoch"`` after every epoch, in the order
        the loops fire them (an iteration-based loop has no epoch event before its end)."""
        if not self.by_epoch:
            for _ in range(inner_iters):
                yield "iter"
            return
        per_epoch = self.iters_per_epoch
        if per_epoch is None:
            raise ValueError("scheduler events need the epoch length (iterations per epoch unknown)")
        for _ in range(epochs):
            for _ in range(per_epoch):
                yield "iter"
            yield "epoch"
        for _ in range(inner_iters):
            yield "iter"


# --- the scheduler stepping rule (ParamSchedulerHook, --plan and resume replay use these) ---------------
class SchedulerLike(Protocol):
    """What stepping needs of a runtime :class:`~typedengine.optim.ParamScheduler`."""

    @property
    def by_epoch(self) -> bool: ...

    @property
    def need_val_args(self) -> bool: ...

    def step(self) -> None: ...

    def step_with_metrics(self, metrics: Mapping[str, float]) -> None: ...


def advance_schedulers(schedulers: Sequence[SchedulerLike], event: SchedulerEvent) -> None:
    """Step the schedulers an event moves: iteration-based ones after every iteration, epoch-based ones
    (ReduceOnPlateau included: that only counts the epoch) after every epoch. Order: as listed."""
    by_epoch = event == "epoch"
    for scheduler in schedulers:
        if scheduler.by_epoch == by_epoch:
            scheduler.step()


def feed_metrics(schedulers: Sequence[SchedulerLike], metrics: Mapping[str, float]) -> None:
    """Hand validation metrics to the schedulers that need them (ReduceOnPlateau)."""
    for scheduler in schedulers:
        if scheduler.by_epoch and scheduler.need_val_args:
            scheduler.step_with_metrics(metrics)


def replay_schedulers(
    schedulers: Sequence[SchedulerLike],
    schedule: RunSchedule,
    *,
    epochs: int,
    inner_iters: int,
    before_iter: Callable[[], None] | None = None,
) -> None:
    """Step freshly built ``schedulers`` through the run up to ``epochs`` + ``inner_iters``, exactly as the
    ParamSchedulerHook steps them in a real run (validation metrics are not replayed);
    ``before_iter`` is called before each iteration's step (``--plan`` records the LR there)."""
    for event in schedule.scheduler_events(epochs=epochs, inner_iters=inner_iters):
        if event == "iter" and before_iter is not None:
            before_iter()
        advance_schedulers(schedulers, event)


class StandInTarget:
    """Plain-Python param groups for schedulers to drive when no optimizer exists (``--plan``): each group
    is a dict of hyperparameters (``lr``, ``momentum`` or ``betas``, ``weight_decay`` ...)."""

    def __init__(
        self, groups: Sequence[Mapping[str, Any]], defaults: Mapping[str, Any] | None = None
    ) -> None:
        self._groups = [dict(g) for g in groups]
        self._defaults = dict(defaults if defaults is not None else (groups[0] if groups else {}))

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        """The groups (the schedulers read and write them)."""
        return self._groups

    @property
    def defaults(self) -> dict[str, Any]:
        """The optimizer-wide defaults (schedulers look for ``momentum`` / ``betas`` here)."""
        return self._defaults
