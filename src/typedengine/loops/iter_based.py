"""IterBasedTrainLoop: train ``max_iters`` iterations over an infinite sampler, validating on a cadence."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from ..config.base import Tag
from ..data.stream import endless_batches
from ..runner.schedule import RunSchedule, loader_length
from .base import BaseTrainLoop, BaseTrainLoopConfig, dataset_length
from .epoch_based import _check_dynamic

if TYPE_CHECKING:
    from torch.utils.data import DataLoader

    from ..runner.runner import Runner

__all__ = ["IterBasedTrainLoop", "IterBasedTrainLoopConfig"]


class IterBasedTrainLoop(BaseTrainLoop):
    """Iteration loop over an infinite sampler: the data stream never restarts, so no 2 s stall between
    passes (MMEngine) and a resumed run restores the sampler position arithmetically instead of
    replaying batches. Hooks see ``batch_idx`` = the global iteration; ``stop_training`` is checked every
    iteration. The whole run is one "epoch" for epoch hooks; schedulers written in epochs
    (``convert_to_iter_based``) count one pass over the data as an epoch (``schedule.pass_length``).
    A finite loader (one the user built) is restarted after each pass with the next sampler epoch.
    """

    def __init__(
        self,
        runner: Runner,
        dataloader: DataLoader[object],
        max_iters: int,
        val_begin: int = 1,
        val_interval: int = 1000,
        dynamic_intervals: tuple[tuple[int, int], ...] = (),
    ) -> None:
        super().__init__(runner, dataloader)
        samples = dataset_length(dataloader)
        batch_size = dataloader.batch_size or 1
        self.schedule = RunSchedule(
            by_epoch=False,
            run_length=max_iters,
            pass_length=None
            if samples is None
            else loader_length(samples, batch_size, runner.world_size, drop_last=False),
            val_begin=val_begin,
            val_interval=val_interval,
            dynamic_intervals=dynamic_intervals,
            batch_size=batch_size,
            world_size=runner.world_size,
            samples=samples,
        )

    def run(self) -> None:
        runner = self.runner
        state = runner.state
        state.phase = "train"
        runner.call_hook("before_train")
        runner.call_hook("before_train_epoch")
        stream = self.data_stream()  # positioned at state.iter without replaying the loader
        runner.model.train()  # once: validation restores the mode, so no module-tree walk per iteration
        self._validate_if_due()  # a resume between a checkpoint and the validation due at that iteration
        while state.iter < self.max_iters and not self.stop_training:
            batch = next(stream)
            self.run_iter(state.iter, batch)
            self._validate_if_due()
        runner.call_hook("after_train_epoch")
        runner.call_hook("after_train")

    def _validate_if_due(self) -> None:
        runner, state = self.runner, self.runner.state
        done = state.iter
        if (
            done
            and done > state.validated
            and runner.val_loop_configured
            and self.schedule.validates_after(done)
        ):
            state.validated = done  # a checkpoint written during the validation counts it as done
            runner.val_loop.run()  # hands the model back in training mode

    def data_stream(self) -> Iterator[object]:
        """The batches of the run from ``state.iter`` on, one per ``next()``: a finite loader restarts with
        the next sampler epoch after each pass (:func:`typedengine.data.stream.endless_batches`)."""
        return endless_batches(
            self.dataloader, start_iter=self.runner.state.iter, skip=self.schedule.rank_start
        )


class IterBasedTrainLoopConfig(BaseTrainLoopConfig):
    """Train for ``max_iters`` iterations (``train:iter-based``)."""

    type: Tag[Literal["iter-based"]] = "iter-based"
    max_iters: int = Field(1000, ge=1, description="Number of training iterations.")
    val_begin: int = Field(1, ge=1, description="First iteration after which validation may run.")
    val_interval: int = Field(
        1000, ge=1, description="Validate every N iterations (the last always validates)."
    )
    dynamic_intervals: tuple[tuple[int, int], ...] = Field(
        (), description="(from_iter, interval) pairs switching the validation interval later in training."
    )

    @model_validator(mode="after")
    def _check(self) -> IterBasedTrainLoopConfig:
        if self.val_begin > self.max_iters:
            raise ValueError(f"val_begin ({self.val_begin}) must be <= max_iters ({self.max_iters})")
        _check_dynamic(self.dynamic_intervals)
        return self

    @property
    def by_epoch(self) -> bool:
        return False

    def run_length(self) -> int:
        return self.max_iters

    def build(self, runner: Runner, dataloader: DataLoader[object]) -> IterBasedTrainLoop:
        return IterBasedTrainLoop(
            runner,
            dataloader,
            max_iters=self.max_iters,
            val_begin=self.val_begin,
            val_interval=self.val_interval,
            dynamic_intervals=self.dynamic_intervals,
        )
