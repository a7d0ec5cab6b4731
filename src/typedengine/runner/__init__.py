"""The runner: RunnerConfig (root of the config tree), Runner, RunState, environment and randomness."""

from .config import RunnerConfig
from .env import EnvConfig
from .randomness import RandomnessConfig, set_random_seed
from .runner import Runner
from .state import RunState

__all__ = ["EnvConfig", "RandomnessConfig", "RunState", "Runner", "RunnerConfig", "set_random_seed"]
