"""The scheduler union and :func:`build_param_schedulers` (end filling, epoch→iteration conversion).

One config per schedule kind, tagged in kebab case: ``constant``, ``linear``, ``step``, ``multi-step``,
``exponential``, ``cosine-annealing``, ``cosine-restart``, ``poly``, ``one-cycle``, ``reduce-on-plateau``
(CLI ``param-scheduler.1:cosine-annealing``). Each has a ``param`` field naming the param-group key it
drives, so MMEngine's ``CosineAnnealingLR`` / ``CosineAnnealingMomentum`` / ``CosineAnnealingParamScheduler``
are one config. The former tags (``linear_lr``, ``cosine_momentum``, ``multistep_param`` with
``param_name``, ...) still load from files, environment variables and checkpoints.

Example::

    param_scheduler: tuple[ParamSchedulerConfig, ...] = (
        LinearSchedulerConfig(start_factor=0.001, by_epoch=False, end=500),
        MultiStepSchedulerConfig(milestones=(8, 11)),
        CosineAnnealingSchedulerConfig(param="momentum", eta_min=0.85),
    )
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

import tyro

from ...config.base import Variants
from .base import ParamScheduler, SchedulerTarget
from .cosine import CosineAnnealingSchedulerConfig, CosineRestartSchedulerConfig
from .linear import LinearSchedulerConfig
from .one_cycle import OneCycleSchedulerConfig
from .plateau import ReduceOnPlateauSchedulerConfig
from .simple import ConstantSchedulerConfig, ExponentialSchedulerConfig, PolySchedulerConfig
from .step import MultiStepSchedulerConfig, StepSchedulerConfig

if TYPE_CHECKING:
    from ..wrapper import OptimWrapper
    from ..wrapper_dict import OptimWrapperDict

__all__ = ["ParamSchedulerConfig", "build_param_schedulers"]


ParamSchedulerConfig = Annotated[
    Annotated[ConstantSchedulerConfig, tyro.conf.subcommand("constant")]
    | Annotated[LinearSchedulerConfig, tyro.conf.subcommand("linear")]
    | Annotated[StepSchedulerConfig, tyro.conf.subcommand("step")]
    | Annotated[MultiStepSchedulerConfig, tyro.conf.subcommand("multi-step")]
    | Annotated[ExponentialSchedulerConfig, tyro.conf.subcommand("exponential")]
    | Annotated[CosineAnnealingSchedulerConfig, tyro.conf.subcommand("cosine-annealing")]
    | Annotated[CosineRestartSchedulerConfig, tyro.conf.subcommand("cosine-restart")]
    | Annotated[PolySchedulerConfig, tyro.conf.subcommand("poly")]
    | Annotated[OneCycleSchedulerConfig, tyro.conf.subcommand("one-cycle")]
    | Annotated[ReduceOnPlateauSchedulerConfig, tyro.conf.subcommand("reduce-on-plateau")],
    Variants,
]
"""One parameter scheduler: a discriminated union over the 10 kinds (``param`` picks the key)."""


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
    :class:`~typedengine.optim.wrapper_dict.OptimWrapperDict` every config is built once per wrapper (MMEngine shares a
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
