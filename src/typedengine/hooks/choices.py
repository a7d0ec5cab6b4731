"""Hook configs as the runner's config tree sees them.

- :class:`DefaultHooksConfig`: named optional slots (``--default-hooks.checkpoint.interval 2``,
  ``default-hooks.checkpoint:none`` switches one off). MMEngine's six defaults are on; ``ema`` and
  ``early_stopping`` are extra slots, off by default; ``check_invalid_loss`` is on (a NaN/inf loss stops
  the run with exit code 1, checked without a per-iteration sync).
- :data:`HookConfig`: the union of every built-in hook config, for ``custom_hooks`` (a tuple; on the
  CLI one JSON argument: ``--custom-hooks '[{"type": "ema", "momentum": 0.001}]'``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Protocol

import tyro
from pydantic import Field

from ..config.base import Config, Variants
from ..config.json_args import JsonList
from .check_invalid_loss import CheckInvalidLossHookConfig
from .checkpoint import CheckpointHookConfig
from .early_stopping import EarlyStoppingHookConfig
from .ema import EMAHookConfig
from .empty_cache import EmptyCacheHookConfig
from .logger import LoggerHookConfig
from .param_scheduler import ParamSchedulerHookConfig
from .profiler import ProfilerHookConfig
from .runtime_info import RuntimeInfoHookConfig
from .sampler_seed import DistSamplerSeedHookConfig
from .sync_buffers import SyncBuffersHookConfig
from .timer import IterTimerHookConfig

if TYPE_CHECKING:
    from .hook import Hook

__all__ = ["DefaultHooksConfig", "HookConfig", "HookList"]

HookConfig = Annotated[
    Annotated[RuntimeInfoHookConfig, tyro.conf.subcommand("runtime-info")] | Annotated[IterTimerHookConfig, tyro.conf.subcommand("timer")] | Annotated[DistSamplerSeedHookConfig, tyro.conf.subcommand("sampler-seed")] | Annotated[LoggerHookConfig, tyro.conf.subcommand("logger")] | Annotated[ParamSchedulerHookConfig, tyro.conf.subcommand("param-scheduler")] | Annotated[CheckpointHookConfig, tyro.conf.subcommand("checkpoint")] | Annotated[EMAHookConfig, tyro.conf.subcommand("ema")] | Annotated[EarlyStoppingHookConfig, tyro.conf.subcommand("early-stopping")] | Annotated[EmptyCacheHookConfig, tyro.conf.subcommand("empty-cache")] | Annotated[SyncBuffersHookConfig, tyro.conf.subcommand("sync-buffers")] | Annotated[ProfilerHookConfig, tyro.conf.subcommand("profiler")] | Annotated[CheckInvalidLossHookConfig, tyro.conf.subcommand("check-invalid-loss")],
    Variants,
]
"""Any built-in hook config (discriminated by ``type``)."""


class DefaultHooksConfig(Config):
    """The default hooks, one named slot each; set a slot to None to switch that hook off."""

    runtime_info: Annotated[RuntimeInfoHookConfig, tyro.conf.subcommand("runtime-info")] | None = Field(
        RuntimeInfoHookConfig(), description="Pushes lr, losses and metrics into the message hub."
    )
    timer: Annotated[IterTimerHookConfig, tyro.conf.subcommand("timer")] | None = Field(IterTimerHookConfig(), description="Measures time, data_time and eta.")
    sampler_seed: Annotated[DistSamplerSeedHookConfig, tyro.conf.subcommand("sampler-seed")] | None = Field(
        DistSamplerSeedHookConfig(), description="Sets the train sampler's epoch before each epoch."
    )
    logger: Annotated[LoggerHookConfig, tyro.conf.subcommand("logger")] | None = Field(LoggerHookConfig(), description="Prints and records log lines.")
    param_scheduler: Annotated[ParamSchedulerHookConfig, tyro.conf.subcommand("param-scheduler")] | None = Field(
        ParamSchedulerHookConfig(), description="Steps the parameter schedulers."
    )
    checkpoint: Annotated[CheckpointHookConfig, tyro.conf.subcommand("checkpoint")] | None = Field(
        CheckpointHookConfig(), description="Saves checkpoints (every epoch by default)."
    )
    ema: Annotated[EMAHookConfig, tyro.conf.subcommand("ema")] | None = Field(None, description="Exponential moving average of the weights (off by default).")
    early_stopping: Annotated[EarlyStoppingHookConfig, tyro.conf.subcommand("early-stopping")] | None = Field(
        None, description="Stops training when a metric stops improving (off by default)."
    )
    check_invalid_loss: (
        Annotated[CheckInvalidLossHookConfig, tyro.conf.subcommand("check-invalid-loss")] | None
    ) = Field(CheckInvalidLossHookConfig(), description="Stops the run on a NaN/inf loss (none: switches it off).")

    def build(self) -> list[Hook]:
        """Build the hooks of every filled slot, in slot order."""
        return [cfg.build() for cfg in self.slots() if cfg is not None]

    def slots(self) -> list[_HookConfigLike | None]:
        """The slot configs in declaration order."""
        return [getattr(self, name) for name in type(self).model_fields]


class _HookConfigLike(Protocol):
    def build(self) -> Hook: ...



HookList = JsonList[HookConfig]
"""``custom_hooks``: a tuple of hook configs; on the CLI one JSON list validated against :data:`HookConfig`."""
