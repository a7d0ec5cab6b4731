"""EmptyCacheHook: release cached CUDA memory blocks (``torch.cuda.empty_cache()``) at chosen points.

Useful when memory fragments between phases (e.g. validation with other shapes). Does nothing without CUDA.
Calling it every iteration (``after_iter``) slows training; epochs are the usual choice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from ..config.base import Config, Tag
from .hook import Hook
from .priority import Priority

if TYPE_CHECKING:
    from ..batches import DataBatch, StepOutputs
    from ..runner.runner import Runner

__all__ = ["EmptyCacheHook", "EmptyCacheHookConfig"]


def _empty_cache() -> None:
    import torch

    if torch.cuda.is_available():  # a no-op until CUDA has been initialised
        torch.cuda.empty_cache()


class EmptyCacheHook(Hook):
    """Calls ``torch.cuda.empty_cache()`` before/after epochs and/or after iterations (NORMAL)."""

    priority = Priority.NORMAL

    def __init__(
        self, *, before_epoch: bool = False, after_epoch: bool = True, after_iter: bool = False
    ) -> None:
        self.before_epoch = before_epoch
        self.after_epoch = after_epoch
        self.after_iter = after_iter
        self.calls = 0

    def _maybe(self, enabled: bool) -> None:
        if enabled:
            self.calls += 1
            _empty_cache()

    def before_train_epoch(self, runner: Runner) -> None:
        self._maybe(self.before_epoch)

    def before_val_epoch(self, runner: Runner) -> None:
        self._maybe(self.before_epoch)

    def before_test_epoch(self, runner: Runner) -> None:
        self._maybe(self.before_epoch)

    def after_train_epoch(self, runner: Runner) -> None:
        self._maybe(self.after_epoch)

    def after_val_epoch(self, runner: Runner, metrics: Mapping[str, float] | None = None) -> None:
        self._maybe(self.after_epoch)

    def after_test_epoch(self, runner: Runner, metrics: Mapping[str, float] | None = None) -> None:
        self._maybe(self.after_epoch)

    def after_train_iter(
        self,
        runner: Runner,
        batch_idx: int,
        data_batch: DataBatch | None = None,
        outputs: Mapping[str, object] | None = None,
    ) -> None:
        self._maybe(self.after_iter)

    def after_val_iter(
        self,
        runner: Runner,
        batch_idx: int,
        data_batch: DataBatch | None = None,
        outputs: StepOutputs | None = None,
    ) -> None:
        self._maybe(self.after_iter)

    def after_test_iter(
        self,
        runner: Runner,
        batch_idx: int,
        data_batch: DataBatch | None = None,
        outputs: StepOutputs | None = None,
    ) -> None:
        self._maybe(self.after_iter)


class EmptyCacheHookConfig(Config):
    """Release cached CUDA memory at epoch (or iteration) boundaries."""

    type: Tag[Literal["empty-cache"]] = "empty-cache"
    before_epoch: bool = Field(False, description="Empty the cache before each train/val/test epoch.")
    after_epoch: bool = Field(True, description="Empty the cache after each train/val/test epoch.")
    after_iter: bool = Field(False, description="Empty the cache after every iteration (slow).")

    def build(self) -> EmptyCacheHook:
        """The hook."""
        return EmptyCacheHook(
            before_epoch=self.before_epoch, after_epoch=self.after_epoch, after_iter=self.after_iter
        )
