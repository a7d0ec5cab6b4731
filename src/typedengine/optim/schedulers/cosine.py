"""Cosine schedules: annealing from the base value to ``eta_min`` (CosineAnnealing) and SGDR-style restarts
(CosineRestart).

CosineAnnealing (chainable, MMEngine ``CosineAnnealingParamScheduler``): with ``T = T_max`` (default
``end - begin``) and ``m = eta_min`` (or ``base * eta_min_ratio``), at active step k > 0 the value becomes
``(1 + cos(pi k / T)) / (1 + cos(pi (k - 1) / T)) * (v - m) + m``, and at ``k - 1 - T ≡ 0 (mod 2T)`` it
becomes ``v + (base - m) (1 - cos(pi / T)) / 2``. Alone it gives ``m + (base - m)(1 + cos(pi k / T)) / 2``.

CosineRestart: ``periods`` split the window into cycles; cycle i restarts at ``base * restart_weights[i]``
and anneals towards ``eta_min`` over ``periods[i]`` steps; after the last period the value is left alone.

Example (warmup, then cosine to 1e-5 in epochs 5..100)::

    (LinearSchedulerConfig(start_factor=1e-3, end=5, convert_to_iter_based=True),
     CosineAnnealingSchedulerConfig(begin=5, eta_min=1e-5, convert_to_iter_based=True))
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import ClassVar, Literal

from pydantic import Field, model_validator
from typing_extensions import Self

from ...config.base import Tag
from .base import INF, ParamScheduler, SchedulerConfigBase, SchedulerTarget, former_tags

__all__ = [
    "CosineAnnealingParamScheduler",
    "CosineAnnealingSchedulerConfig",
    "CosineRestartParamScheduler",
    "CosineRestartSchedulerConfig",
]


class CosineAnnealingParamScheduler(ParamScheduler):
    """Cosine annealing of ``param_name`` from its base value to ``eta_min`` over ``T_max`` steps."""

    def __init__(
        self,
        target: SchedulerTarget,
        param_name: str,
        *,
        T_max: int | None = None,
        eta_min: float | None = None,
        eta_min_ratio: float | None = None,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
    ) -> None:
        if eta_min is None and eta_min_ratio is None:
            eta_min = 0.0
        if eta_min is not None and eta_min_ratio is not None:
            raise ValueError("give either eta_min or eta_min_ratio, not both")
        self.T_max = T_max or (end - begin)
        self.eta_min = eta_min
        self.eta_min_ratio = eta_min_ratio
        super().__init__(target, param_name, begin=begin, end=end, last_step=last_step, by_epoch=by_epoch)

    def _eta_min(self, base: float) -> float:
        if self.eta_min_ratio is None:
            assert self.eta_min is not None
            return self.eta_min
        return base * self.eta_min_ratio

    def _get_value(self) -> list[float]:
        current = self._current()
        k, t = self.last_step, self.T_max
        if k == 0:
            return current
        if (k - 1 - t) % (2 * t) == 0:
            return [
                v + (base - self._eta_min(base)) * (1 - math.cos(math.pi / t)) / 2
                for base, v in zip(self.base_values, current)
            ]
        ratio = (1 + math.cos(math.pi * k / t)) / (1 + math.cos(math.pi * (k - 1) / t))
        return [
            ratio * (v - self._eta_min(base)) + self._eta_min(base)
            for base, v in zip(self.base_values, current)
        ]


class CosineRestartParamScheduler(ParamScheduler):
    """Cosine annealing with restarts: one cycle per entry of ``periods``, restarting at ``base * weight``."""

    def __init__(
        self,
        target: SchedulerTarget,
        param_name: str,
        *,
        periods: Sequence[int],
        restart_weights: Sequence[float] = (1.0,),
        eta_min: float | None = None,
        eta_min_ratio: float | None = None,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
    ) -> None:
        if (eta_min is None) == (eta_min_ratio is None):
            raise ValueError("give exactly one of eta_min and eta_min_ratio")
        if len(periods) != len(restart_weights):
            raise ValueError("periods and restart_weights must have the same length")
        if any(p < 1 for p in periods):
            raise ValueError("periods must be >= 1")
        self.periods = list(periods)
        self.restart_weights = list(restart_weights)
        self.eta_min = eta_min
        self.eta_min_ratio = eta_min_ratio
        self.cumulative_periods = [sum(self.periods[: i + 1]) for i in range(len(self.periods))]
        super().__init__(target, param_name, begin=begin, end=end, last_step=last_step, by_epoch=by_epoch)

    def _cycle(self, step: int) -> int | None:
        for i, boundary in enumerate(self.cumulative_periods):
            if step < boundary:
                return i
        return None

    def _get_value(self) -> list[float]:
        current = self._current()
        idx = self._cycle(self.last_step)
        if idx is None:
            return current
        weight = self.restart_weights[idx]
        restart_at = 0 if idx == 0 else self.cumulative_periods[idx - 1]
        period = self.periods[idx]
        step = self.last_step - restart_at
        values: list[float] = []
        for base, v in zip(self.base_values, current):
            eta_max = base * weight
            eta_min = base * self.eta_min_ratio if self.eta_min_ratio is not None else self.eta_min
            assert eta_min is not None
            if step == 0:
                values.append(eta_max)
            else:
                ratio = (1 + math.cos(math.pi * step / period)) / (
                    1 + math.cos(math.pi * (step - 1) / period)
                )
                values.append(ratio * (v - eta_min) + eta_min)
        return values


class CosineAnnealingSchedulerConfig(SchedulerConfigBase):
    """Cosine annealing of ``param`` (MMEngine ``CosineAnnealingLR`` / ``CosineAnnealingMomentum`` /
    ``CosineAnnealingParamScheduler``)."""

    type: Tag[Literal["cosine-annealing"]] = "cosine-annealing"
    tag_aliases: ClassVar[Mapping[str, Mapping[str, object]]] = former_tags("cosine")

    T_max: int | None = Field(None, ge=1, description="Steps of the half cosine period; None: end - begin.")
    eta_min: float | None = Field(None, description="Final value; None: 0 unless eta_min_ratio is set.")
    eta_min_ratio: float | None = Field(
        None, ge=0.0, description="Final value as a fraction of the base value."
    )

    @model_validator(mode="after")
    def _one_minimum(self) -> Self:
        if self.eta_min is not None and self.eta_min_ratio is not None:
            raise ValueError("give either eta_min or eta_min_ratio, not both")
        return self

    def _create(
        self, target: SchedulerTarget, *, begin: int, end: int, by_epoch: bool, scale: int
    ) -> ParamScheduler:
        return CosineAnnealingParamScheduler(
            target,
            self.param,
            T_max=None if self.T_max is None else self.T_max * scale,
            eta_min=self.eta_min,
            eta_min_ratio=self.eta_min_ratio,
            begin=begin,
            end=end,
            by_epoch=by_epoch,
        )


class CosineRestartSchedulerConfig(SchedulerConfigBase):
    """Cosine annealing with restarts of ``param`` (MMEngine ``CosineRestartLR`` / ``CosineRestartMomentum`` /
    ``CosineRestartParamScheduler``)."""

    type: Tag[Literal["cosine-restart"]] = "cosine-restart"
    tag_aliases: ClassVar[Mapping[str, Mapping[str, object]]] = former_tags("cosine_restart")

    periods: tuple[int, ...] = Field(description="Length of each cosine cycle, in steps.")
    restart_weights: tuple[float, ...] = Field((1.0,), description="Restart value of each cycle, times base.")
    eta_min: float | None = Field(None, description="Value at the end of each cycle (or use eta_min_ratio).")
    eta_min_ratio: float | None = Field(
        None, ge=0.0, description="Cycle-end value as a fraction of the base."
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if (self.eta_min is None) == (self.eta_min_ratio is None):
            raise ValueError("give exactly one of eta_min and eta_min_ratio")
        if len(self.periods) != len(self.restart_weights):
            raise ValueError("periods and restart_weights must have the same length")
        if not self.periods or any(p < 1 for p in self.periods):
            raise ValueError("periods must be a non-empty tuple of positive step counts")
        return self

    def _create(
        self, target: SchedulerTarget, *, begin: int, end: int, by_epoch: bool, scale: int
    ) -> ParamScheduler:
        return CosineRestartParamScheduler(
            target,
            self.param,
            periods=[p * scale for p in self.periods],
            restart_weights=self.restart_weights,
            eta_min=self.eta_min,
            eta_min_ratio=self.eta_min_ratio,
            begin=begin,
            end=end,
            by_epoch=by_epoch,
        )
