"""ParamSchedulerHook: steps the run's parameter schedulers (MMEngine's ``ParamSchedulerHook``).

After each training iteration it steps the schedulers with ``by_epoch=False``; after each training epoch
the ``by_epoch=True`` ones (ReduceOnPlateau included: that only counts the epoch); after each validation
epoch it feeds the metrics to the schedulers that need them (``need_val_args``, i.e. ReduceOnPlateau).
Priority LOW, so the logger has recorded the learning rate used by the iteration before it changes.
It reads ``runner.param_schedulers`` (a list, possibly empty). The stepping rule itself lives in
:mod:`typedengine.runner.schedule` (``advance_schedulers`` / ``feed_metrics``), which ``--plan`` and the
resume replay use too, so a simulated schedule steps exactly as a real run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, ClassVar, Literal

from ..config.base import Config, Tag
from ..runner.schedule import advance_schedulers, feed_metrics
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
        advance_schedulers(_schedulers(runner), "iter")

    def after_train_epoch(self, runner: Runner) -> None:
        """Step the epoch-based schedulers."""
        advance_schedulers(_schedulers(runner), "epoch")

    def after_val_epoch(self, runner: Runner, metrics: Mapping[str, float] | None = None) -> None:
        """Feed the validation metrics to the schedulers that need them (ReduceOnPlateau)."""
        if metrics is not None:
            feed_metrics(_schedulers(runner), metrics)


class ParamSchedulerHookConfig(Config):
    """The parameter-scheduler hook (a default hook; it has no settings)."""

    type: Tag[Literal["param-scheduler"]] = "param-scheduler"

    def build(self) -> ParamSchedulerHook:
        """The hook."""
        return ParamSchedulerHook()
