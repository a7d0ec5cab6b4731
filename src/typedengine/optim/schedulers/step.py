"""Step decays: multiply by ``gamma`` every ``step_size`` steps (Step) or at given milestones (MultiStep).

Both count *active* steps, i.e. steps since ``begin``. Repeated milestones compound (``[3, 3]`` multiplies
by ``gamma**2`` at step 3). With ``convert_to_iter_based`` the step size and milestones are in epochs and
are multiplied by the epoch length.

Example::

    MultiStepSchedulerConfig(milestones=(8, 11), gamma=0.1)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import ClassVar, Literal

from pydantic import Field, field_validator

from ...config.base import Tag
from .base import INF, ParamScheduler, SchedulerConfigBase, SchedulerTarget, former_tags

__all__ = [
    "MultiStepParamScheduler",
    "MultiStepSchedulerConfig",
    "StepParamScheduler",
    "StepSchedulerConfig",
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


class StepSchedulerConfig(SchedulerConfigBase):
    """Step decay of ``param`` (MMEngine ``StepLR`` / ``StepMomentum`` / ``StepParamScheduler``)."""

    type: Tag[Literal["step"]] = "step"
    tag_aliases: ClassVar[Mapping[str, Mapping[str, object]]] = former_tags("step")

    step_size: int = Field(ge=1, description="Decay every this many active steps.")
    gamma: float = Field(0.1, gt=0.0, description="Multiplicative decay factor.")

    def _create(
        self, target: SchedulerTarget, *, begin: int, end: int, by_epoch: bool, scale: int
    ) -> ParamScheduler:
        return StepParamScheduler(
            target,
            self.param,
            step_size=self.step_size * scale,
            gamma=self.gamma,
            begin=begin,
            end=end,
            by_epoch=by_epoch,
        )


class MultiStepSchedulerConfig(SchedulerConfigBase):
    """Milestone decay of ``param`` (MMEngine ``MultiStepLR`` / ``MultiStepMomentum`` /
    ``MultiStepParamScheduler``)."""

    type: Tag[Literal["multi-step"]] = "multi-step"
    tag_aliases: ClassVar[Mapping[str, Mapping[str, object]]] = former_tags("multistep")

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
            self.param,
            milestones=[m * scale for m in self.milestones],
            gamma=self.gamma,
            begin=begin,
            end=end,
            by_epoch=by_epoch,
        )
