"""Constant, exponential and polynomial schedules (MMEngine's Constant/Exponential/Poly schedulers).

Chainable forms, with ``T = end - begin - 1`` and active step ``k``:

* **Constant**: at k = 0 multiply by ``factor``; at k = T divide by it again (the base value is restored
  at the last step of the window); otherwise leave the value.
* **Exponential**: multiply by ``gamma`` at every k > 0. Converted to iterations, gamma applies per
  iteration (MMEngine does not rescale it).
* **Poly**: at k > 0, ``v -> (v - eta_min) * (1 - 1 / (T - k + 1)) ** power + eta_min``; alone this is
  ``eta_min + (base - eta_min) * (1 - k / T) ** power``, reaching ``eta_min`` at k = T.

Example::

    PolySchedulerConfig(eta_min=1e-4, power=0.9, by_epoch=False)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Literal

from pydantic import Field

from ...config.base import Tag
from .base import INF, ParamScheduler, SchedulerConfigBase, SchedulerTarget, former_tags

__all__ = [
    "ConstantParamScheduler",
    "ConstantSchedulerConfig",
    "ExponentialParamScheduler",
    "ExponentialSchedulerConfig",
    "PolyParamScheduler",
    "PolySchedulerConfig",
]


class ConstantParamScheduler(ParamScheduler):
    """Multiply ``param_name`` by ``factor`` for the window, restoring it at the window's last step."""

    def __init__(
        self,
        target: SchedulerTarget,
        param_name: str,
        *,
        factor: float = 1.0 / 3,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
    ) -> None:
        if not 0.0 < factor <= 1.0:
            raise ValueError(f"factor must be in (0, 1], got {factor}")
        self.factor = factor
        self.total_iters = end - begin - 1
        super().__init__(target, param_name, begin=begin, end=end, last_step=last_step, by_epoch=by_epoch)

    def _get_value(self) -> list[float]:
        current = self._current()
        if self.last_step == 0:
            return [v * self.factor for v in current]
        if self.last_step == self.total_iters:
            return [v * (1.0 / self.factor) for v in current]
        return current


class ExponentialParamScheduler(ParamScheduler):
    """Multiply ``param_name`` by ``gamma`` every step of the window."""

    def __init__(
        self,
        target: SchedulerTarget,
        param_name: str,
        *,
        gamma: float,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
    ) -> None:
        self.gamma = gamma
        super().__init__(target, param_name, begin=begin, end=end, last_step=last_step, by_epoch=by_epoch)

    def _get_value(self) -> list[float]:
        current = self._current()
        if self.last_step == 0:
            return current
        return [v * self.gamma for v in current]


class PolyParamScheduler(ParamScheduler):
    """Polynomial decay of ``param_name`` to ``eta_min`` at the window's last step."""

    def __init__(
        self,
        target: SchedulerTarget,
        param_name: str,
        *,
        eta_min: float = 0.0,
        power: float = 1.0,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
    ) -> None:
        self.eta_min = eta_min
        self.power = power
        self.total_iters = end - begin - 1
        super().__init__(target, param_name, begin=begin, end=end, last_step=last_step, by_epoch=by_epoch)

    def _get_value(self) -> list[float]:
        current = self._current()
        if self.last_step == 0:
            return current
        ratio = (1 - 1 / (self.total_iters - self.last_step + 1)) ** self.power
        return [(v - self.eta_min) * ratio + self.eta_min for v in current]


class ConstantSchedulerConfig(SchedulerConfigBase):
    """Constant factor on ``param`` for the window (MMEngine ``ConstantLR`` / ``ConstantMomentum`` /
    ``ConstantParamScheduler``)."""

    type: Tag[Literal["constant"]] = "constant"
    tag_aliases: ClassVar[Mapping[str, Mapping[str, object]]] = former_tags("constant")

    factor: float = Field(1.0 / 3, gt=0.0, le=1.0, description="Multiplier applied during the window.")

    def _create(
        self, target: SchedulerTarget, *, begin: int, end: int, by_epoch: bool, scale: int
    ) -> ParamScheduler:
        return ConstantParamScheduler(
            target, self.param, factor=self.factor, begin=begin, end=end, by_epoch=by_epoch
        )


class ExponentialSchedulerConfig(SchedulerConfigBase):
    """Exponential decay of ``param`` (MMEngine ``ExponentialLR`` / ``ExponentialMomentum`` /
    ``ExponentialParamScheduler``)."""

    type: Tag[Literal["exponential"]] = "exponential"
    tag_aliases: ClassVar[Mapping[str, Mapping[str, object]]] = former_tags("exponential")

    gamma: float = Field(gt=0.0, description="Multiplicative factor applied every step.")

    def _create(
        self, target: SchedulerTarget, *, begin: int, end: int, by_epoch: bool, scale: int
    ) -> ParamScheduler:
        return ExponentialParamScheduler(
            target, self.param, gamma=self.gamma, begin=begin, end=end, by_epoch=by_epoch
        )


class PolySchedulerConfig(SchedulerConfigBase):
    """Polynomial decay of ``param`` (MMEngine ``PolyLR`` / ``PolyMomentum`` / ``PolyParamScheduler``)."""

    type: Tag[Literal["poly"]] = "poly"
    tag_aliases: ClassVar[Mapping[str, Mapping[str, object]]] = former_tags("poly")

    eta_min: float = Field(0.0, description="Value reached at the window's last step.")
    power: float = Field(1.0, gt=0.0, description="Power of the polynomial.")

    def _create(
        self, target: SchedulerTarget, *, begin: int, end: int, by_epoch: bool, scale: int
    ) -> ParamScheduler:
        return PolyParamScheduler(
            target,
            self.param,
            eta_min=self.eta_min,
            power=self.power,
            begin=begin,
            end=end,
            by_epoch=by_epoch,
        )
