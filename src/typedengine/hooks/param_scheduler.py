"""ParamSchedulerHook: steps the run's parameter schedulers (MMEngine's ``ParamSchedulerHook``).

After each training iteration it steps the schedulers with ``by_epoch=False``; after each training epoch
the ``by_epoch=True`` ones (ReduceOnPlateau included: that only counts the epoch); after each validation
epoch it feeds the metrics to the schedulers that need them (``need_val_args``, i.e. ReduceOnPlateau).
Priority LOW, so the logger has recorded the learning rate used by the iteration before it changes.
It reads ``runner.param_schedulers`` (a list, possibly empty).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, ClassVar, Literal

from ..config.base import Config, Tag
from .hook import Hook
from .priority import Priority

if TYPE_CHECKING:
    from ..batches import DataBatch
    from ..optim.schedulers.base import ParamScheduler
    from ..runner.runner import Runner

__all__ = ["ParamSchedulerHook", "ParamSchedulerHookConfig"]


def _schedulers(runner: Runner) -> Sequence[ParamScheduler]:
    schedulers: Sequence[ParamScheduler] | None = getattr(runner, "param_schedulers", None)
    return schedulers or ()


class ParamSchedulerHook(Hook):
    """Step ``runner.param_schedulers``: per iteration, per epoch, and with validation metrics."""

    priority: ClassVar[int | str | Priority] = Priority.LOW

    def after_train_iter(
        self,
        runner: Runner,
        batch_idx: int,
        data_batch: DataBatch | None = None,
        outputs: Mapping[str, object] | None = None,
    ) -> None:
        """Step the iteration-based schedulers."""
        for scheduler in _schedulers(runner):
            if not scheduler.by_epoch:
                scheduler.step()

    def after_train_epoch(self, runner: Runner) -> None:
        """Step the epoch-based schedulers."""
        for scheduler in _schedulers(runner):
            if scheduler.by_epoch:
                scheduler.step()

    def after_val_epoch(self, runner: Runner, metrics: Mapping[str, float] | None = None) -> None:
        """Feed the validation metrics to the schedulers that need them (ReduceOnPlateau)."""
        if metrics is None:
            return
        for scheduler in _schedulers(runner):
            if scheduler.by_epoch and scheduler.need_val_args:
                scheduler.step_with_metrics(metrics)


class ParamSchedulerHookConfig(Config):
    """The parameter-scheduler hook (a default hook; it has no settings)."""

    type: Tag[Literal["param-scheduler"]] = "param-scheduler"

    def build(self) -> ParamSchedulerHook:
        """The hook."""
        return ParamSchedulerHook()
