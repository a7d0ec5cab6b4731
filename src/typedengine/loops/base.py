"""Loop bases: what the runner and hooks can rely on for every train / val / test loop."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from pydantic import Field

from ..config.base import Config

if TYPE_CHECKING:
    from torch.utils.data import DataLoader

    from ..runner.runner import Runner

__all__ = ["BaseTrainLoop", "BaseTrainLoopConfig", "sampler_of"]


def sampler_of(dataloader: Iterable[object]) -> object | None:
    """The index sampler of a DataLoader (its batch_sampler's sampler), or None."""
    batch_sampler = getattr(dataloader, "batch_sampler", None)
    sampler = getattr(batch_sampler, "sampler", None)
    return sampler if sampler is not None else getattr(dataloader, "sampler", None)


class BaseTrainLoop:
    """A training loop. Subclass it (and :class:`BaseTrainLoopConfig`) to plug in your own loop.

    Attributes the runner and hooks use: ``dataloader``, ``max_epochs``, ``max_iters``, ``by_epoch``,
    ``stop_training`` (set it to end training at the next check: the next epoch for epoch loops, the
    next iteration for iteration loops).
    """

    by_epoch: bool = True

    def __init__(self, runner: Runner, dataloader: DataLoader[object]) -> None:
        self.runner = runner
        self.dataloader = dataloader
        self.stop_training = False

    @property
    def max_epochs(self) -> int:
        raise NotImplementedError

    @property
    def max_iters(self) -> int:
        raise NotImplementedError

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


class BaseTrainLoopConfig(Config):
    """Base of train-loop configs: they build a loop and tell the run length for config-time checks."""

    val_begin: int = Field(1, ge=1, description="First epoch/iteration after which validation may run.")
    val_interval: int = Field(1, ge=1, description="Validate every N epochs/iterations.")

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
        """Epochs (or iterations) after which validation runs, for ``--plan`` and checks."""
        raise NotImplementedError
