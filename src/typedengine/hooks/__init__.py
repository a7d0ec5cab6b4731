"""Hooks: the :class:`Hook` base, priorities, the built-in hooks and their configs.

Submodules are imported on first attribute access, so ``import typedengine.hooks`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

_EXPORTS: dict[str, str] = {
    "HOOK_POINTS": "hook",
    "Hook": "hook",
    "Priority": "priority",
    "get_priority": "priority",
    "DefaultHooksConfig": "choices",
    "HookConfig": "choices",
    "HookList": "choices",
    "RuntimeInfoHook": "runtime_info",
    "RuntimeInfoHookConfig": "runtime_info",
    "IterTimerHook": "timer",
    "IterTimerHookConfig": "timer",
    "DistSamplerSeedHook": "sampler_seed",
    "DistSamplerSeedHookConfig": "sampler_seed",
    "LoggerHook": "logger",
    "LoggerHookConfig": "logger",
    "ParamSchedulerHook": "param_scheduler",
    "ParamSchedulerHookConfig": "param_scheduler",
    "CheckpointHook": "checkpoint",
    "CheckpointHookConfig": "checkpoint",
    "EMAHook": "ema",
    "EMAHookConfig": "ema",
    "EarlyStoppingHook": "early_stopping",
    "EarlyStoppingHookConfig": "early_stopping",
    "EmptyCacheHook": "empty_cache",
    "EmptyCacheHookConfig": "empty_cache",
    "SyncBuffersHook": "sync_buffers",
    "SyncBuffersHookConfig": "sync_buffers",
    "ProfilerHook": "profiler",
    "ProfilerHookConfig": "profiler",
    "CheckInvalidLossHook": "check_invalid_loss",
    "CheckInvalidLossHookConfig": "check_invalid_loss",
}

__all__ = list(_EXPORTS)

if TYPE_CHECKING:
    from .check_invalid_loss import CheckInvalidLossHook as CheckInvalidLossHook
    from .check_invalid_loss import CheckInvalidLossHookConfig as CheckInvalidLossHookConfig
    from .checkpoint import CheckpointHook as CheckpointHook
    from .checkpoint import CheckpointHookConfig as CheckpointHookConfig
    from .choices import DefaultHooksConfig as DefaultHooksConfig
    from .choices import HookConfig as HookConfig
    from .choices import HookList as HookList
    from .early_stopping import EarlyStoppingHook as EarlyStoppingHook
    from .early_stopping import EarlyStoppingHookConfig as EarlyStoppingHookConfig
    from .ema import EMAHook as EMAHook
    from .ema import EMAHookConfig as EMAHookConfig
    from .empty_cache import EmptyCacheHook as EmptyCacheHook
    from .empty_cache import EmptyCacheHookConfig as EmptyCacheHookConfig
    from .hook import HOOK_POINTS as HOOK_POINTS
    from .hook import Hook as Hook
    from .logger import LoggerHook as LoggerHook
    from .logger import LoggerHookConfig as LoggerHookConfig
    from .param_scheduler import ParamSchedulerHook as ParamSchedulerHook
    from .param_scheduler import ParamSchedulerHookConfig as ParamSchedulerHookConfig
    from .priority import Priority as Priority
    from .priority import get_priority as get_priority
    from .profiler import ProfilerHook as ProfilerHook
    from .profiler import ProfilerHookConfig as ProfilerHookConfig
    from .runtime_info import RuntimeInfoHook as RuntimeInfoHook
    from .runtime_info import RuntimeInfoHookConfig as RuntimeInfoHookConfig
    from .sampler_seed import DistSamplerSeedHook as DistSamplerSeedHook
    from .sampler_seed import DistSamplerSeedHookConfig as DistSamplerSeedHookConfig
    from .sync_buffers import SyncBuffersHook as SyncBuffersHook
    from .sync_buffers import SyncBuffersHookConfig as SyncBuffersHookConfig
    from .timer import IterTimerHook as IterTimerHook
    from .timer import IterTimerHookConfig as IterTimerHookConfig


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'typedengine.hooks' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
