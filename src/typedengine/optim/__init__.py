"""Optimization: optimizer configs, optim wrappers (default, AMP, dict), paramwise rules, schedulers.

Example::

    from typedengine.optim import OptimWrapperConfig, AdamWConfig, LinearSchedulerConfig, CosineAnnealingSchedulerConfig

    optim_wrapper = OptimWrapperConfig(optimizer=AdamWConfig(lr=1e-3), clip_grad=ClipGradNormConfig(max_norm=1))
    param_scheduler = (LinearSchedulerConfig(start_factor=1e-3, end=5, convert_to_iter_based=True),
                       CosineAnnealingSchedulerConfig(begin=5, eta_min_ratio=1e-2, convert_to_iter_based=True))
"""

from .amp import AmpOptimWrapper, AmpOptimWrapperConfig, GradScalerConfig, fp16_capable
from .auto_scale_lr import AutoScaleLRConfig, scale_lr
from .checks import check_optim_wrapper, check_param_schedulers
from .choices import OptimWrapperUnion
from .grad_clip import (
    ClipGradByNorm,
    ClipGradByValue,
    ClipGradConfig,
    ClipGradNormConfig,
    ClipGradValueConfig,
)
from .optimizers import (
    AdadeltaConfig,
    AdagradConfig,
    AdamaxConfig,
    AdamConfig,
    AdamWConfig,
    ImportedOptimizerConfig,
    NAdamConfig,
    OptimizerConfig,
    RAdamConfig,
    RMSpropConfig,
    SGDConfig,
)
from .param_groups import CustomKeyRule, ParamwiseConfig
from .schedulers import (
    INF,
    ConstantParamScheduler,
    ConstantSchedulerConfig,
    CosineAnnealingParamScheduler,
    CosineAnnealingSchedulerConfig,
    CosineRestartParamScheduler,
    CosineRestartSchedulerConfig,
    ExponentialParamScheduler,
    ExponentialSchedulerConfig,
    LinearParamScheduler,
    LinearSchedulerConfig,
    MultiStepParamScheduler,
    MultiStepSchedulerConfig,
    OneCycleParamScheduler,
    OneCycleSchedulerConfig,
    ParamScheduler,
    ParamSchedulerConfig,
    PolyParamScheduler,
    PolySchedulerConfig,
    ReduceOnPlateauParamScheduler,
    ReduceOnPlateauSchedulerConfig,
    SchedulerConfigBase,
    SchedulerTarget,
    StepParamScheduler,
    StepSchedulerConfig,
    build_param_schedulers,
)
from .wrapper import OptimWrapper, OptimWrapperConfig, OptimWrapperConfigBase
from .wrapper_dict import OptimWrapperDict, OptimWrapperDictConfig, SingleOptimWrapperConfig

__all__ = [
    "INF",
    "AdadeltaConfig",
    "AdagradConfig",
    "AdamConfig",
    "AdamWConfig",
    "AdamaxConfig",
    "AmpOptimWrapper",
    "AmpOptimWrapperConfig",
    "AutoScaleLRConfig",
    "ClipGradByNorm",
    "ClipGradByValue",
    "ClipGradConfig",
    "ClipGradNormConfig",
    "ClipGradValueConfig",
    "ConstantParamScheduler",
    "ConstantSchedulerConfig",
    "CosineAnnealingParamScheduler",
    "CosineAnnealingSchedulerConfig",
    "CosineRestartParamScheduler",
    "CosineRestartSchedulerConfig",
    "CustomKeyRule",
    "ExponentialParamScheduler",
    "ExponentialSchedulerConfig",
    "GradScalerConfig",
    "ImportedOptimizerConfig",
    "LinearParamScheduler",
    "LinearSchedulerConfig",
    "MultiStepParamScheduler",
    "MultiStepSchedulerConfig",
    "NAdamConfig",
    "OneCycleParamScheduler",
    "OneCycleSchedulerConfig",
    "OptimWrapper",
    "OptimWrapperConfig",
    "OptimWrapperConfigBase",
    "OptimWrapperDict",
    "OptimWrapperDictConfig",
    "OptimWrapperUnion",
    "OptimizerConfig",
    "ParamScheduler",
    "ParamSchedulerConfig",
    "ParamwiseConfig",
    "PolyParamScheduler",
    "PolySchedulerConfig",
    "RAdamConfig",
    "RMSpropConfig",
    "ReduceOnPlateauParamScheduler",
    "ReduceOnPlateauSchedulerConfig",
    "SGDConfig",
    "SchedulerConfigBase",
    "SchedulerTarget",
    "SingleOptimWrapperConfig",
    "StepParamScheduler",
    "StepSchedulerConfig",
    "build_param_schedulers",
    "check_optim_wrapper",
    "check_param_schedulers",
    "fp16_capable",
    "scale_lr",
]
