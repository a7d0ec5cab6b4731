"""Parameter schedulers: MMEngine's 10 schedule kinds, one config each, for lr, momentum or any key."""

from .base import INF, ParamScheduler, SchedulerConfigBase, SchedulerTarget
from .choices import ParamSchedulerConfig, build_param_schedulers
from .cosine import (
    CosineAnnealingParamScheduler,
    CosineAnnealingSchedulerConfig,
    CosineRestartParamScheduler,
    CosineRestartSchedulerConfig,
)
from .linear import LinearParamScheduler, LinearSchedulerConfig
from .one_cycle import OneCycleParamScheduler, OneCycleSchedulerConfig
from .plateau import ReduceOnPlateauParamScheduler, ReduceOnPlateauSchedulerConfig
from .simple import (
    ConstantParamScheduler,
    ConstantSchedulerConfig,
    ExponentialParamScheduler,
    ExponentialSchedulerConfig,
    PolyParamScheduler,
    PolySchedulerConfig,
)
from .step import MultiStepParamScheduler, MultiStepSchedulerConfig, StepParamScheduler, StepSchedulerConfig

__all__ = [
    "INF",
    "ConstantParamScheduler",
    "ConstantSchedulerConfig",
    "CosineAnnealingParamScheduler",
    "CosineAnnealingSchedulerConfig",
    "CosineRestartParamScheduler",
    "CosineRestartSchedulerConfig",
    "ExponentialParamScheduler",
    "ExponentialSchedulerConfig",
    "LinearParamScheduler",
    "LinearSchedulerConfig",
    "MultiStepParamScheduler",
    "MultiStepSchedulerConfig",
    "OneCycleParamScheduler",
    "OneCycleSchedulerConfig",
    "ParamScheduler",
    "ParamSchedulerConfig",
    "PolyParamScheduler",
    "PolySchedulerConfig",
    "ReduceOnPlateauParamScheduler",
    "ReduceOnPlateauSchedulerConfig",
    "SchedulerConfigBase",
    "SchedulerTarget",
    "StepParamScheduler",
    "StepSchedulerConfig",
    "build_param_schedulers",
]
