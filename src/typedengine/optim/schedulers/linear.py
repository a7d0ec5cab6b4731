"""Linear schedule: the value moves from ``start_factor`` to ``end_factor`` times its base (warmup).

The factor changes linearly over the window and reaches ``end_factor`` at active step ``end - begin - 1``.
Chainable form (MMEngine's ``LinearParamScheduler``): at step 0 the current value is multiplied by
``start_factor``; at step k the value is multiplied by
``1 + (end_factor - start_factor) / (T * start_factor + (k - 1) * (end_factor - start_factor))`` with
``T = end - begin - 1``.

Example (warmup over the first 500 iterations)::

    LinearSchedulerConfig(start_factor=0.001, by_epoch=False, begin=0, end=500)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Literal

from pydantic import Field

from ...config.base import Tag
from .base import INF, ParamScheduler, SchedulerConfigBase, SchedulerTarget, former_tags

__all__ = ["LinearParamScheduler", "LinearSchedulerConfig"]


class LinearParamScheduler(ParamScheduler):
    """Scale ``param_name`` by a factor moving linearly from ``start_factor`` to ``end_factor``."""

    def __init__(
        self,
        target: SchedulerTarget,
        param_name: str,
        *,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
    ) -> None:
        if not 0.0 <= start_factor <= 1.0:
            raise ValueError(f"start_factor must be in [0, 1], got {start_factor}")
        if not 0.0 <= end_factor <= 1.0:
            raise ValueError(f"end_factor must be in [0, 1], got {end_factor}")
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = end - begin - 1
        super().__init__(target, param_name, begin=begin, end=end, last_step=last_step, by_epoch=by_epoch)

    def _get_value(self) -> list[float]:
        current = self._current()
        if self.last_step == 0:
            return [v * self.start_factor for v in current]
        delta = self.end_factor - self.start_factor
        factor = 1.0 + delta / (self.total_iters * self.start_factor + (self.last_step - 1) * delta)
        return [v * factor for v in current]


class LinearSchedulerConfig(SchedulerConfigBase):
    """Linear factor on ``param`` (MMEngine ``LinearLR`` / ``LinearMomentum`` / ``LinearParamScheduler``),
    the usual warmup."""

    type: Tag[Literal["linear"]] = "linear"
    tag_aliases: ClassVar[Mapping[str, Mapping[str, object]]] = former_tags("linear")

    start_factor: float = Field(1.0 / 3, ge=0.0, le=1.0, description="Factor applied at the first step.")
    end_factor: float = Field(
        1.0, ge=0.0, le=1.0, description="Factor reached at the last step of the window."
    )

    def _create(
        self, target: SchedulerTarget, *, begin: int, end: int, by_epoch: bool, scale: int
    ) -> ParamScheduler:
        return LinearParamScheduler(
            target,
            self.param,
            start_factor=self.start_factor,
            end_factor=self.end_factor,
            begin=begin,
            end=end,
            by_epoch=by_epoch,
        )
