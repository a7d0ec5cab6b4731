"""Loop bases: what the runner and hooks can rely on for every train / val / test loop."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from pydantic import Field

from ..config.base import Config

if TYPE_CHECKING:
    from torch.utils.data import DataLoader

    from ..runner.runner import Runner
    from ..runner.schedule import RunSchedule

__all__ = ["BaseTrainLoop", "BaseTrainLoopConfig", "dataset_length", "sampler_of"]


def sampler_of(dataloader: Iterable[object]) -> object | None:
    """The index sampler of a DataLoader (its batch_sampler's sampler), or None."""
    batch_sampler = getattr(dataloader, "batch_sampler", None)
    sampler = getattr(batch_sampler, "sampler", None)
    return sampler if sampler is not None else getattr(dataloader, "sampler", None)


def dataset_length(dataloader: Iterable[object]) -> int | None:
    """Samples in the loader's dataset (None for datasets without a length, e.g. iterable ones)."""
    try:
        return len(getattr(dataloader, "dataset"))  # noqa: B009  # loaders without .dataset raise below
    except (AttributeError, TypeError):
        return None


class BaseTrainLoop:
    """A training loop. Subclass it (and :class:`BaseTrainLoopConfig`) to plug in your own loop.

    Attributes the runner and hooks use: ``dataloader``, ``schedule`` (the
    :class:`~typedengine.runner.schedule.RunSchedule`: run length, epoch length and every cadence),
    ``max_epochs``, ``max_iters`` and ``by_epoch`` (the schedule's), ``stop_training`` (set it to end
    training at the next check: the next epoch for epoch loops, the next iteration for iteration loops).
    A custom loop sets ``self.schedule`` in its constructor.
    """

    def __init__(self, runner: Runner, dataloader: DataLoader[object]) -> None:
        self.runner = runner
        self.dataloader = dataloader
        self.stop_training = False
        self._schedule: RunSchedule | None = None

    @property
    def schedule(self) -> RunSchedule:
        """The run's schedule (every "when" and "how long" of this loop)."""
        if self._schedule is None:
            raise NotImplementedError(
                f"{type(self).__name__} has no schedule: set self.schedule = RunSchedule(...) in its constructor"
            )
        return self._schedule

    @schedule.setter
    def schedule(self, schedule: RunSchedule) -> None:
        self._schedule = schedule

    @property
    def by_epoch(self) -> bool:
        """True when the run length is counted in epochs."""
        return self.schedule.by_epoch

    @property
    def max_epochs(self) -> int:
        """Epochs of the run (1 for an iteration-based loop)."""
        return self.schedule.max_epochs

    @property
    def max_iters(self) -> int:
        """Iterations of the run (per process)."""
        total = self.schedule.max_iters
        if total is None:
            raise RuntimeError("the train loader has no length, so the run's iteration count is unknown")
        return total

    def run(self) -> None:
        """Train until the end (or ``stop_training``); call ``before_train``/``after_train`` hooks."""
        raise NotImplementedError

    def run_iter(self, batch_idx: int, data_batch: object) -> None:
        """One training iteration with its hooks; ``state.iter`` counts it after ``after_train_iter``.

        During ``after_train_iter`` hooks, ``runner.state.iter`` is the 0-based index of the iteration
        that just ran (MMEngine's convention): ``state.iter + 1`` iterations are complete.
        """
        runner = self.runner
        runner.call_hook("before_train_iter", batch_idx=batch_idx, data_batch=data_batch)
        outputs = runner.model.train_step(data_batch, runner.optim_wrapper)  # type: ignore[operator]  # nn.Module attribute lookup
        runner.call_hook("after_train_iter", batch_idx=batch_idx, data_batch=data_batch, outputs=outputs)
        runner.state.iter += 1
        runner.state.inner_iter += 1

    def resume_sampler(self, done: int) -> None:
        """Make the train sampler skip what ``done`` batches (of the epoch, or of the run for iteration
        loops) consumed, so a resumed run continues with the next batch and never replays the loader."""
        sampler = sampler_of(self.dataloader)
        set_start = getattr(sampler, "set_start", None)
        if set_start is None:
            raise RuntimeError("resuming mid-epoch needs a sampler with set_start (typedengine's samplers)")
        start = self.schedule.rank_start(done)
        length = getattr(sampler, "__len__", None)
        if self.schedule.by_epoch and callable(length):
            # clamp: a checkpoint taken after a partial last batch has consumed the whole shard
            start = min(start, int(length()))
        set_start(start)


class BaseTrainLoopConfig(Config):
    """Base of train-loop configs: they build a loop and tell the run length for config-time checks."""

    val_begin: int = Field(1, ge=1, description="First epoch/iteration after which validation may run.")
    val_interval: int = Field(1, ge=1, description="Validate every N epochs/iterations.")
    dynamic_intervals: tuple[tuple[int, int], ...] = Field(
        (), description="(from, interval) pairs switching the validation interval later in training."
    )

    @property
    def by_epoch(self) -> bool:
        """True when the run length is counted in epochs."""
        raise NotImplementedError

    def run_length(self) -> int:
        """max_epochs for epoch-based loops, max_iters for iteration-based ones."""
        raise NotImplementedError

    def build(self, runner: Runner, dataloader: DataLoader[object]) -> BaseTrainLoop:
        """Build the loop around an already built dataloader."""
        raise NotImplementedError

    def validation_points(self) -> list[int]:
        """Epochs (or iterations) after which validation runs (the schedule's rule)."""
        from ..runner.schedule import RunSchedule

        schedule = RunSchedule(
            by_epoch=self.by_epoch,
            run_length=self.run_length(),
            val_begin=self.val_begin,
            val_interval=self.val_interval,
            dynamic_intervals=self.dynamic_intervals,
        )
        return list(schedule.validation_points())
