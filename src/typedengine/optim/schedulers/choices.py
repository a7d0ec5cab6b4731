"""The scheduler union and :func:`build_param_schedulers` (end filling, epoch→iteration conversion).

Tags follow MMEngine's class names: ``linear_lr`` (LinearLR), ``cosine_momentum`` (CosineAnnealingMomentum),
``multistep_param`` (MultiStepParamScheduler, with ``param_name``), ...

Example::

    param_scheduler: tuple[ParamSchedulerConfig, ...] = (
        LinearLRConfig(start_factor=0.001, by_epoch=False, end=500),
        MultiStepLRConfig(milestones=(8, 11)),
    )
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

import tyro
from pydantic import Field

from .base import ParamScheduler, SchedulerTarget
from .cosine import (
    CosineAnnealingLRConfig,
    CosineAnnealingMomentumConfig,
    CosineAnnealingParamConfig,
    CosineRestartLRConfig,
    CosineRestartMomentumConfig,
    CosineRestartParamConfig,
)
from .linear import LinearLRConfig, LinearMomentumConfig, LinearParamConfig
from .one_cycle import OneCycleLRConfig
from .plateau import ReduceOnPlateauLRConfig, ReduceOnPlateauMomentumConfig, ReduceOnPlateauParamConfig
from .simple import (
    ConstantLRConfig,
    ConstantMomentumConfig,
    ConstantParamConfig,
    ExponentialLRConfig,
    ExponentialMomentumConfig,
    ExponentialParamConfig,
    PolyLRConfig,
    PolyMomentumConfig,
    PolyParamConfig,
)
from .step import (
    MultiStepLRConfig,
    MultiStepMomentumConfig,
    MultiStepParamConfig,
    StepLRConfig,
    StepMomentumConfig,
    StepParamConfig,
)

if TYPE_CHECKING:
    from ..wrapper import OptimWrapper
    from ..wrapper_dict import OptimWrapperDict

__all__ = ["ParamSchedulerConfig", "build_param_schedulers"]


ParamSchedulerConfig = Annotated[
    Annotated[ConstantLRConfig, tyro.conf.subcommand("constant_lr")]
    | Annotated[ConstantMomentumConfig, tyro.conf.subcommand("constant_momentum")]
    | Annotated[ConstantParamConfig, tyro.conf.subcommand("constant_param")]
    | Annotated[LinearLRConfig, tyro.conf.subcommand("linear_lr")]
    | Annotated[LinearMomentumConfig, tyro.conf.subcommand("linear_momentum")]
    | Annotated[LinearParamConfig, tyro.conf.subcommand("linear_param")]
    | Annotated[StepLRConfig, tyro.conf.subcommand("step_lr")]
    | Annotated[StepMomentumConfig, tyro.conf.subcommand("step_momentum")]
    | Annotated[StepParamConfig, tyro.conf.subcommand("step_param")]
    | Annotated[MultiStepLRConfig, tyro.conf.subcommand("multistep_lr")]
    | Annotated[MultiStepMomentumConfig, tyro.conf.subcommand("multistep_momentum")]
    | Annotated[MultiStepParamConfig, tyro.conf.subcommand("multistep_param")]
    | Annotated[ExponentialLRConfig, tyro.conf.subcommand("exponential_lr")]
    | Annotated[ExponentialMomentumConfig, tyro.conf.subcommand("exponential_momentum")]
    | Annotated[ExponentialParamConfig, tyro.conf.subcommand("exponential_param")]
    | Annotated[CosineAnnealingLRConfig, tyro.conf.subcommand("cosine_lr")]
    | Annotated[CosineAnnealingMomentumConfig, tyro.conf.subcommand("cosine_momentum")]
    | Annotated[CosineAnnealingParamConfig, tyro.conf.subcommand("cosine_param")]
    | Annotated[CosineRestartLRConfig, tyro.conf.subcommand("cosine_restart_lr")]
    | Annotated[CosineRestartMomentumConfig, tyro.conf.subcommand("cosine_restart_momentum")]
    | Annotated[CosineRestartParamConfig, tyro.conf.subcommand("cosine_restart_param")]
    | Annotated[PolyLRConfig, tyro.conf.subcommand("poly_lr")]
    | Annotated[PolyMomentumConfig, tyro.conf.subcommand("poly_momentum")]
    | Annotated[PolyParamConfig, tyro.conf.subcommand("poly_param")]
    | Annotated[OneCycleLRConfig, tyro.conf.subcommand("onecycle_lr")]
    | Annotated[ReduceOnPlateauLRConfig, tyro.conf.subcommand("plateau_lr")]
    | Annotated[ReduceOnPlateauMomentumConfig, tyro.conf.subcommand("plateau_momentum")]
    | Annotated[ReduceOnPlateauParamConfig, tyro.conf.subcommand("plateau_param")],
    Field(discriminator="type"),
]
"""One parameter scheduler: a discriminated union over the 10 kinds × {lr, momentum, param}."""


def build_param_schedulers(
    cfgs: Sequence[ParamSchedulerConfig],
    optim_wrapper: OptimWrapper | OptimWrapperDict | SchedulerTarget,
    *,
    epoch_length: int,
    max_epochs: int,
    max_iters: int,
) -> list[ParamScheduler]:
    """Build ``cfgs`` in order on ``optim_wrapper`` (order matters: each constructor applies step 0).

    An unset ``end`` becomes the run length (``max_epochs`` for by-epoch configs, else ``max_iters``);
    ``convert_to_iter_based`` configs are multiplied by ``epoch_length``. For an
    :class:`~typedengine.optim.OptimWrapperDict` every config is built once per wrapper (MMEngine shares a
    scheduler list across all optimizers the same way), wrapper by wrapper.
    """
    from ..wrapper_dict import OptimWrapperDict

    targets: list[SchedulerTarget]
    if isinstance(optim_wrapper, OptimWrapperDict):
        targets = list(optim_wrapper.values())
    else:
        targets = [optim_wrapper]
    return [
        cfg.build(target, epoch_length=epoch_length, max_epochs=max_epochs, max_iters=max_iters)
        for target in targets
        for cfg in cfgs
    ]
