"""Constant, exponential and polynomial schedules (MMEngine's Constant/Exponential/Poly schedulers).

Chainable forms, with ``T = end - begin - 1`` and active step ``k``:

* **Constant**: at k = 0 multiply by ``factor``; at k = T divide by it again (the base value is restored
  at the last step of the window); otherwise leave the value.
* **Exponential**: multiply by ``gamma`` at every k > 0. Converted to iterations, gamma applies per
  iteration (MMEngine does not rescale it).
* **Poly**: at k > 0, ``v -> (v - eta_min) * (1 - 1 / (T - k + 1)) ** power + eta_min``; alone this is
  ``eta_min + (base - eta_min) * (1 - k / T) ** power``, reaching ``eta_min`` at k = T.

Example::

    PolyLRConfig(eta_min=1e-4, power=0.9, by_epoch=False)
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from ...config.base import Tag
from .base import INF, ParamScheduler, ParamVariant, SchedulerConfigBase, SchedulerTarget

__all__ = [
    "ConstantLRConfig",
    "ConstantMomentumConfig",
    "ConstantParamConfig",
    "ConstantParamScheduler",
    "ExponentialLRConfig",
    "ExponentialMomentumConfig",
    "ExponentialParamConfig",
    "ExponentialParamScheduler",
    "PolyLRConfig",
    "PolyMomentumConfig",
    "PolyParamConfig",
    "PolyParamScheduler",
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


class _ConstantFields(SchedulerConfigBase):
    factor: float = Field(1.0 / 3, gt=0.0, le=1.0, description="Multiplier applied during the window.")

    def _create(
        self, target: SchedulerTarget, *, begin: int, end: int, by_epoch: bool, scale: int
    ) -> ParamScheduler:
        return ConstantParamScheduler(
            target, self.scheduled_key(), factor=self.factor, begin=begin, end=end, by_epoch=by_epoch
        )


class ConstantLRConfig(_ConstantFields):
    """Constant learning-rate factor for the window (MMEngine ``ConstantLR``)."""

    type: Tag[Literal["constant_lr"]] = "constant_lr"


class ConstantMomentumConfig(_ConstantFields):
    """Constant momentum factor for the window (MMEngine ``ConstantMomentum``)."""

    type: Tag[Literal["constant_momentum"]] = "constant_momentum"
    scheduled_param: ClassVar[str] = "momentum"


class ConstantParamConfig(_ConstantFields, ParamVariant):
    """Constant factor on any param-group key (MMEngine ``ConstantParamScheduler``)."""

    type: Tag[Literal["constant_param"]] = "constant_param"


class _ExponentialFields(SchedulerConfigBase):
    gamma: float = Field(gt=0.0, description="Multiplicative factor applied every step.")

    def _create(
        self, target: SchedulerTarget, *, begin: int, end: int, by_epoch: bool, scale: int
    ) -> ParamScheduler:
        return ExponentialParamScheduler(
            target, self.scheduled_key(), gamma=self.gamma, begin=begin, end=end, by_epoch=by_epoch
        )


class ExponentialLRConfig(_ExponentialFields):
    """Exponential learning-rate decay (MMEngine ``ExponentialLR``)."""

    type: Tag[Literal["exponential_lr"]] = "exponential_lr"


class ExponentialMomentumConfig(_ExponentialFields):
    """Exponential momentum decay (MMEngine ``ExponentialMomentum``)."""

    type: Tag[Literal["exponential_momentum"]] = "exponential_momentum"
    scheduled_param: ClassVar[str] = "momentum"


class ExponentialParamConfig(_ExponentialFields, ParamVariant):
    """Exponential decay of any param-group key (MMEngine ``ExponentialParamScheduler``)."""

    type: Tag[Literal["exponential_param"]] = "exponential_param"


class _PolyFields(SchedulerConfigBase):
    eta_min: float = Field(0.0, description="Value reached at the window's last step.")
    power: float = Field(1.0, gt=0.0, description="Power of the polynomial.")

    def _create(
        self, target: SchedulerTarget, *, begin: int, end: int, by_epoch: bool, scale: int
    ) -> ParamScheduler:
        return PolyParamScheduler(
            target,
            self.scheduled_key(),
            eta_min=self.eta_min,
            power=self.power,
            begin=begin,
            end=end,
            by_epoch=by_epoch,
        )


class PolyLRConfig(_PolyFields):
    """Polynomial learning-rate decay (MMEngine ``PolyLR``)."""

    type: Tag[Literal["poly_lr"]] = "poly_lr"


class PolyMomentumConfig(_PolyFields):
    """Polynomial momentum decay (MMEngine ``PolyMomentum``)."""

    type: Tag[Literal["poly_momentum"]] = "poly_momentum"
    scheduled_param: ClassVar[str] = "momentum"


class PolyParamConfig(_PolyFields, ParamVariant):
    """Polynomial decay of any param-group key (MMEngine ``PolyParamScheduler``)."""

    type: Tag[Literal["poly_param"]] = "poly_param"
