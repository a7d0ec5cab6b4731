"""Step decays: multiply by ``gamma`` every ``step_size`` steps (Step) or at given milestones (MultiStep).

Both count *active* steps, i.e. steps since ``begin``. Repeated milestones compound (``[3, 3]`` multiplies
by ``gamma**2`` at step 3). With ``convert_to_iter_based`` the step size and milestones are in epochs and
are multiplied by the epoch length.

Example::

    MultiStepLRConfig(milestones=(8, 11), gamma=0.1)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import ClassVar, Literal

from pydantic import Field, field_validator

from ...config.base import Tag
from .base import INF, ParamScheduler, ParamVariant, SchedulerConfigBase, SchedulerTarget

__all__ = [
    "MultiStepLRConfig",
    "MultiStepMomentumConfig",
    "MultiStepParamConfig",
    "MultiStepParamScheduler",
    "StepLRConfig",
    "StepMomentumConfig",
    "StepParamConfig",
    "StepParamScheduler",
]


class StepParamScheduler(ParamScheduler):
    """Multiply ``param_name`` by ``gamma`` every ``step_size`` active steps."""

    def __init__(
        self,
        target: SchedulerTarget,
        param_name: str,
        *,
        step_size: int,
        gamma: float = 0.1,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
    ) -> None:
        if step_size < 1:
            raise ValueError(f"step_size must be >= 1, got {step_size}")
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(target, param_name, begin=begin, end=end, last_step=last_step, by_epoch=by_epoch)

    def _get_value(self) -> list[float]:
        current = self._current()
        if self.last_step == 0 or self.last_step % self.step_size != 0:
            return current
        return [v * self.gamma for v in current]


class MultiStepParamScheduler(ParamScheduler):
    """Multiply ``param_name`` by ``gamma`` (per occurrence) when the active step hits a milestone."""

    def __init__(
        self,
        target: SchedulerTarget,
        param_name: str,
        *,
        milestones: Sequence[int],
        gamma: float = 0.1,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
    ) -> None:
        self.milestones: dict[int, int] = dict(Counter(milestones))
        self.gamma = gamma
        super().__init__(target, param_name, begin=begin, end=end, last_step=last_step, by_epoch=by_epoch)

    def _get_value(self) -> list[float]:
        current = self._current()
        hits = self.milestones.get(self.last_step, 0)
        if hits == 0:
            return current
        return [v * self.gamma**hits for v in current]


class _StepFields(SchedulerConfigBase):
    step_size: int = Field(ge=1, description="Decay every this many active steps.")
    gamma: float = Field(0.1, gt=0.0, description="Multiplicative decay factor.")

    def _create(
        self, target: SchedulerTarget, *, begin: int, end: int, by_epoch: bool, scale: int
    ) -> ParamScheduler:
        return StepParamScheduler(
            target,
            self.scheduled_key(),
            step_size=self.step_size * scale,
            gamma=self.gamma,
            begin=begin,
            end=end,
            by_epoch=by_epoch,
        )


class StepLRConfig(_StepFields):
    """Step decay of the learning rate (MMEngine ``StepLR``)."""

    type: Tag[Literal["step_lr"]] = "step_lr"


class StepMomentumConfig(_StepFields):
    """Step decay of the momentum (MMEngine ``StepMomentum``)."""

    type: Tag[Literal["step_momentum"]] = "step_momentum"
    scheduled_param: ClassVar[str] = "momentum"


class StepParamConfig(_StepFields, ParamVariant):
    """Step decay of any param-group key (MMEngine ``StepParamScheduler``)."""

    type: Tag[Literal["step_param"]] = "step_param"


class _MultiStepFields(SchedulerConfigBase):
    milestones: tuple[int, ...] = Field(description="Active steps at which to decay (repeats compound).")
    gamma: float = Field(0.1, gt=0.0, description="Multiplicative decay factor.")

    @field_validator("milestones")
    @classmethod
    def _non_negative(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(m < 0 for m in value):
            raise ValueError("milestones must be >= 0")
        return value

    def _create(
        self, target: SchedulerTarget, *, begin: int, end: int, by_epoch: bool, scale: int
    ) -> ParamScheduler:
        return MultiStepParamScheduler(
            target,
            self.scheduled_key(),
            milestones=[m * scale for m in self.milestones],
            gamma=self.gamma,
            begin=begin,
            end=end,
            by_epoch=by_epoch,
        )


class MultiStepLRConfig(_MultiStepFields):
    """Milestone decay of the learning rate (MMEngine ``MultiStepLR``)."""

    type: Tag[Literal["multistep_lr"]] = "multistep_lr"


class MultiStepMomentumConfig(_MultiStepFields):
    """Milestone decay of the momentum (MMEngine ``MultiStepMomentum``)."""

    type: Tag[Literal["multistep_momentum"]] = "multistep_momentum"
    scheduled_param: ClassVar[str] = "momentum"


class MultiStepParamConfig(_MultiStepFields, ParamVariant):
    """Milestone decay of any param-group key (MMEngine ``MultiStepParamScheduler``)."""

    type: Tag[Literal["multistep_param"]] = "multistep_param"
