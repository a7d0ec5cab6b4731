"""Optimization: optimizer configs, optim wrappers (default, AMP, dict), paramwise rules, schedulers.

Example::

    from typedengine.optim import OptimWrapperConfig, AdamWConfig, LinearLRConfig, CosineAnnealingLRConfig

    optim_wrapper = OptimWrapperConfig(optimizer=AdamWConfig(lr=1e-3), clip_grad=ClipGradNormConfig(max_norm=1))
    param_scheduler = (LinearLRConfig(start_factor=1e-3, end=5, convert_to_iter_based=True),
                       CosineAnnealingLRConfig(begin=5, eta_min_ratio=1e-2, convert_to_iter_based=True))
"""

from .amp import AmpOptimWrapper, AmpOptimWrapperConfig, GradScalerConfig, fp16_capable
from .auto_scale_lr import AutoScaleLRConfig, scale_lr
from .checks import check_optim_wrapper, check_param_schedulers
from .choices import OptimWrapperUnion
from .grad_clip import ClipGradByNorm, ClipGradByValue, ClipGradConfig, ClipGradNormConfig, ClipGradValueConfig
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
from .schedulers import *  # noqa: F403 - the scheduler package's curated __all__
from .schedulers import __all__ as _scheduler_names
from .wrapper import OptimWrapper, OptimWrapperConfig, OptimWrapperConfigBase
from .wrapper_dict import OptimWrapperDict, OptimWrapperDictConfig, SingleOptimWrapperConfig

__all__ = [
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
    "CustomKeyRule",
    "GradScalerConfig",
    "ImportedOptimizerConfig",
    "NAdamConfig",
    "OptimWrapper",
    "OptimWrapperConfig",
    "OptimWrapperConfigBase",
    "OptimWrapperDict",
    "OptimWrapperDictConfig",
    "OptimWrapperUnion",
    "OptimizerConfig",
    "ParamwiseConfig",
    "RAdamConfig",
    "RMSpropConfig",
    "SGDConfig",
    "SingleOptimWrapperConfig",
    "check_optim_wrapper",
    "check_param_schedulers",
    "fp16_capable",
    "scale_lr",
    *_scheduler_names,
]
