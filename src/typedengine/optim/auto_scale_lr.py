"""auto_scale_lr: scale every learning rate by the actual total batch size over a base batch size.

``factor = batch_size * world_size * accumulative_counts / base_batch_size`` multiplies every param
group's ``lr`` (and the base-lr pseudo group), before the schedulers are built so they see the scaled
values. MMEngine ignores gradient accumulation here (``accumulative_counts=1``, the default, reproduces
that); pass the wrapper's count to scale by the effective batch. The caller logs the returned factor.

:func:`lr_scale_factor` is the rule (pure arithmetic; the run's
:class:`~typedengine.runner.schedule.RunSchedule` asks it, so ``--plan``, a fresh run and a resume that
re-applies the config scale alike); :func:`apply_lr_scale` multiplies the groups.

Example::

    AutoScaleLRConfig(base_batch_size=256, enable=True)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from ..config.base import Config

if TYPE_CHECKING:
    from .wrapper import OptimWrapper
    from .wrapper_dict import OptimWrapperDict

__all__ = ["AutoScaleLRConfig", "apply_lr_scale", "lr_scale_factor", "scale_lr"]


class AutoScaleLRConfig(Config):
    """Scale the learning rate with the total batch size (linear scaling rule)."""

    base_batch_size: int = Field(ge=1, description="Total batch size the configured lr was tuned for.")
    enable: bool = Field(False, description="Apply the scaling (off by default, as in MMEngine).")


def lr_scale_factor(
    *, batch_size: int, world_size: int, base_batch_size: int, accumulative_counts: int = 1
) -> float:
    """``batch_size * world_size * accumulative_counts / base_batch_size``."""
    if batch_size < 1 or world_size < 1 or base_batch_size < 1 or accumulative_counts < 1:
        raise ValueError("batch_size, world_size, base_batch_size and accumulative_counts must be >= 1")
    return float(batch_size * world_size * accumulative_counts) / float(base_batch_size)


def apply_lr_scale(optim_wrapper: OptimWrapper | OptimWrapperDict, factor: float) -> None:
    """Multiply every group's lr (the base-settings pseudo group included) by ``factor``."""
    from .wrapper_dict import OptimWrapperDict

    wrappers = (
        list(optim_wrapper.values()) if isinstance(optim_wrapper, OptimWrapperDict) else [optim_wrapper]
    )
    for wrapper in wrappers:
        for group in wrapper.param_groups:
            group["lr"] = group["lr"] * factor


def scale_lr(
    optim_wrapper: OptimWrapper | OptimWrapperDict,
    *,
    batch_size: int,
    world_size: int,
    base_batch_size: int,
    accumulative_counts: int = 1,
) -> float:
    """Multiply every group's lr by the batch-size ratio and return the factor (the caller logs it)."""
    factor = lr_scale_factor(
        batch_size=batch_size,
        world_size=world_size,
        base_batch_size=base_batch_size,
        accumulative_counts=accumulative_counts,
    )
    apply_lr_scale(optim_wrapper, factor)
    return factor
