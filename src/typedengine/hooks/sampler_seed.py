"""DistSamplerSeedHook: tell the train sampler which epoch starts, so each epoch shuffles differently
(and identically on every rank)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from ..config.base import Config, Tag
from ..loops.base import sampler_of
from .hook import Hook
from .priority import Priority

if TYPE_CHECKING:
    from ..runner.runner import Runner

__all__ = ["DistSamplerSeedHook", "DistSamplerSeedHookConfig"]


class DistSamplerSeedHook(Hook):
    """Calls ``sampler.set_epoch(runner.state.epoch)`` before each training epoch (when supported)."""

    priority = Priority.NORMAL

    def before_train_epoch(self, runner: Runner) -> None:
        sampler = sampler_of(runner.train_loop.dataloader)
        set_epoch = getattr(sampler, "set_epoch", None)
        if set_epoch is not None:
            set_epoch(runner.state.epoch)


class DistSamplerSeedHookConfig(Config):
    """Sets the train sampler's epoch before each epoch (``default_hooks.sampler_seed``)."""

    type: Tag[Literal["sampler-seed"]] = "sampler-seed"

    def build(self) -> DistSamplerSeedHook:
        return DistSamplerSeedHook()
