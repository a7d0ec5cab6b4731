"""The runner: RunnerConfig (root of the config tree), Runner, RunState, environment and randomness."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy_imports import lazy_getattr

_EXPORTS: dict[str, str] = {
    "CompileConfig": ".compile",
    "RunnerConfig": ".config",
    "EnvConfig": ".env",
    "RandomnessConfig": ".randomness",
    "set_random_seed": ".randomness",
    "Runner": ".runner",
    "RunState": ".state",
}

__all__ = [
    "CompileConfig",
    "EnvConfig",
    "RandomnessConfig",
    "RunState",
    "Runner",
    "RunnerConfig",
    "set_random_seed",
]

if TYPE_CHECKING:
    from .compile import CompileConfig as CompileConfig
    from .config import RunnerConfig as RunnerConfig
    from .env import EnvConfig as EnvConfig
    from .randomness import RandomnessConfig as RandomnessConfig
    from .randomness import set_random_seed as set_random_seed
    from .runner import Runner as Runner
    from .state import RunState as RunState

__getattr__ = lazy_getattr(__name__, _EXPORTS)
