"""EpochBasedTrainLoop: train ``max_epochs`` passes over the loader, validating on a cadence."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from ..config.base import Tag
from ..runner.schedule import RunSchedule
from .base import BaseTrainLoop, BaseTrainLoopConfig, dataset_length

if TYPE_CHECKING:
    from torch.utils.data import DataLoader

    from ..runner.runner import Runner

__all__ = ["EpochBasedTrainLoop", "EpochBasedTrainLoopConfig"]


class EpochBasedTrainLoop(BaseTrainLoop):
    """Epoch loop: ``before_train`` → per epoch (hooks, iterations, maybe validation) → ``after_train``.

    Validation runs after epoch ``e`` (1-based) when ``e >= val_begin`` and ``e % interval == 0``, and
    always after the last epoch (``self.schedule`` decides). ``stop_training`` is checked between epochs.
    A resumed run continues mid-epoch from the next batch: the sampler skips the samples already seen
    (no loader replay); resumed at the end of an epoch whose validation had not started (the epoch's
    checkpoint is written before it), it validates first.
    """

    def __init__(
        self,
        runner: Runner,
        dataloader: DataLoader[object],
        max_epochs: int,
        val_begin: int = 1,
        val_interval: int = 1,
        dynamic_intervals: tuple[tuple[int, int], ...] = (),
    ) -> None:
        super().__init__(runner, dataloader)
        self.schedule = RunSchedule(
            by_epoch=True,
            run_length=max_epochs,
            iters_per_epoch=len(dataloader),
            val_begin=val_begin,
            val_interval=val_interval,
            dynamic_intervals=dynamic_intervals,
            batch_size=dataloader.batch_size or 1,
            world_size=runner.world_size,
            samples=dataset_length(dataloader),
        )

    def run(self) -> None:
        runner = self.runner
        state = runner.state
        runner.call_hook("before_train")
        if state.inner_iter == 0:
            self._validate_if_due()  # a resume between an epoch's checkpoint and its validation
        while state.epoch < self.max_epochs and not self.stop_training:
            self.run_epoch()
            self._validate_if_due()
        runner.call_hook("after_train")

    def _validate_if_due(self) -> None:
        runner, state = self.runner, self.runner.state
        done = state.epoch
        if (
            done
            and done > state.validated
            and runner.val_loop_configured
            and self.schedule.validates_after(done)
        ):
            state.validated = done  # a checkpoint written during the validation counts it as done
            runner.val_loop.run()

    def run_epoch(self) -> None:
        """One epoch: ``before_train_epoch`` → iterations → ``after_train_epoch`` → ``state.epoch += 1``."""
        runner = self.runner
        state = runner.state
        state.phase = "train"
        runner.call_hook("before_train_epoch")
        runner.model.train()
        start = state.inner_iter
        if start:
            self.resume_sampler(start)
        for idx, batch in enumerate(self.dataloader, start=start):
            self.run_iter(idx, batch)
        runner.call_hook("after_train_epoch")
        state.epoch += 1
        state.inner_iter = 0


class EpochBasedTrainLoopConfig(BaseTrainLoopConfig):
    """Train for ``max_epochs`` epochs (``train:epoch-based``)."""

    type: Tag[Literal["epoch-based"]] = "epoch-based"
    max_epochs: int = Field(10, ge=1, description="Number of training epochs.")
    val_begin: int = Field(1, ge=1, description="First epoch after which validation may run.")
    val_interval: int = Field(
        1, ge=1, description="Validate every N epochs (the last epoch always validates)."
    )
    dynamic_intervals: tuple[tuple[int, int], ...] = Field(
        (), description="(from_epoch, interval) pairs switching the validation interval later in training."
    )

    @model_validator(mode="after")
    def _check(self) -> EpochBasedTrainLoopConfig:
        if self.val_begin > self.max_epochs:
            raise ValueError(f"val_begin ({self.val_begin}) must be <= max_epochs ({self.max_epochs})")
        _check_dynamic(self.dynamic_intervals)
        return self

    @property
    def by_epoch(self) -> bool:
        return True

    def run_length(self) -> int:
        return self.max_epochs

    def build(self, runner: Runner, dataloader: DataLoader[object]) -> EpochBasedTrainLoop:
        return EpochBasedTrainLoop(
            runner,
            dataloader,
            max_epochs=self.max_epochs,
            val_begin=self.val_begin,
            val_interval=self.val_interval,
            dynamic_intervals=self.dynamic_intervals,
        )


def _check_dynamic(pairs: tuple[tuple[int, int], ...]) -> None:
    milestones = [m for m, _ in pairs]
    if milestones != sorted(milestones) or len(set(milestones)) != len(milestones):
        raise ValueError("dynamic_intervals milestones must be strictly increasing")
    if any(m < 1 or k < 1 for m, k in pairs):
        raise ValueError("dynamic_intervals entries must be positive (milestone, interval) pairs")
