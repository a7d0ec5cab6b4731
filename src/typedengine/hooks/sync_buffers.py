"""SyncBuffersHook: average the model's floating-point buffers (BatchNorm statistics) across ranks.

Runs after each training epoch and before validation (once, not twice, when validation follows the epoch
directly), so every rank validates and checkpoints the same statistics. A no-op in a single process.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

from ..config.base import Config, Tag
from .hook import Hook
from .priority import Priority

if TYPE_CHECKING:
    from torch import nn

    from ..batches import DataBatch
    from ..runner.runner import Runner

__all__ = ["SyncBuffersHook", "SyncBuffersHookConfig", "sync_buffers"]


def sync_buffers(model: nn.Module) -> int:
    """All-reduce (mean) every floating-point buffer of ``model`` in place; returns how many were synced."""
    from ..distributed.ops import all_reduce, get_world_size

    if get_world_size() == 1:
        return 0
    count = 0
    for buffer in model.buffers():
        if buffer.is_floating_point():
            all_reduce(buffer.data, op="mean")
            count += 1
    return count


class SyncBuffersHook(Hook):
    """Averages buffers across ranks after each train epoch and before validation (NORMAL)."""

    priority = Priority.NORMAL

    def __init__(self) -> None:
        self._synced = False

    def after_train_iter(
        self,
        runner: Runner,
        batch_idx: int,
        data_batch: DataBatch | None = None,
        outputs: Mapping[str, object] | None = None,
    ) -> None:
        self._synced = False

    def after_train_epoch(self, runner: Runner) -> None:
        sync_buffers(runner.unwrapped_model)
        self._synced = True

    def before_val_epoch(self, runner: Runner) -> None:
        if not self._synced:
            sync_buffers(runner.unwrapped_model)
            self._synced = True


class SyncBuffersHookConfig(Config):
    """Average BatchNorm statistics across ranks before validation and checkpoints; no settings."""

    type: Tag[Literal["sync-buffers"]] = "sync-buffers"

    def build(self) -> SyncBuffersHook:
        """The hook."""
        return SyncBuffersHook()
