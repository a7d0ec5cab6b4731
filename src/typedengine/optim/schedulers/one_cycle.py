"""OneCycle: the 1cycle learning-rate policy (MMEngine ``OneCycleLR``; not chainable, lr only).

``param`` is ``"lr"`` and nothing else, as in MMEngine, whose ``OneCycleParamScheduler`` asserts
``param_name == 'lr'`` and has no momentum counterpart. Unlike ``torch.optim.lr_scheduler.OneCycleLR``
(``cycle_momentum=True``) it does not cycle the momentum: pair it with a momentum schedule of another kind
if you want that. The field exists so every scheduler config reads alike (``--param-scheduler.0.param``)
and so a config asking for another key is refused when it is written, not when it is built.

The lr rises from ``eta_max / div_factor`` to ``eta_max`` over the first ``pct_start`` of ``total_steps``
(default ``end - begin``) and anneals to ``initial / final_div_factor`` by the end (cosine or linear);
``three_phase`` comes back down to the initial value before the final annealing. The groups' ``initial_lr``,
``max_lr`` and ``min_lr`` are (over)written at build time, as in MMEngine.

Example::

    OneCycleSchedulerConfig(eta_max=0.1, by_epoch=False)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import ClassVar, Literal

from pydantic import Field

from ...config.base import Tag
from .base import INF, ParamScheduler, SchedulerConfigBase, SchedulerTarget

__all__ = ["OneCycleParamScheduler", "OneCycleSchedulerConfig"]


def _anneal(strategy: str, start: float, end: float, pct: float) -> float:
    if strategy == "cos":
        return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
    return (end - start) * pct + start


class OneCycleParamScheduler(ParamScheduler):
    """The 1cycle policy on ``lr`` (two phases, or three with ``three_phase``)."""

    def __init__(
        self,
        target: SchedulerTarget,
        param_name: str = "lr",
        *,
        eta_max: float,
        total_steps: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: Literal["cos", "linear"] = "cos",
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
    ) -> None:
        if param_name != "lr":
            raise ValueError(f"OneCycle only schedules the learning rate, got param_name={param_name!r}")
        if total_steps is not None and total_steps <= 0:
            raise ValueError(f"total_steps must be positive, got {total_steps}")
        if not 0.0 <= pct_start <= 1.0:
            raise ValueError(f"pct_start must be in [0, 1], got {pct_start}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        self.eta_max = eta_max
        self.div_factor = div_factor
        self.final_div_factor = final_div_factor
        self.total_steps = total_steps if total_steps is not None else end - begin
        self.anneal_strategy = anneal_strategy
        p = param_name
        first_end = float(pct_start * self.total_steps) - 1
        if three_phase:
            self.phases: list[tuple[float, str, str]] = [
                (first_end, f"initial_{p}", f"max_{p}"),
                (float(2 * pct_start * self.total_steps) - 2, f"max_{p}", f"initial_{p}"),
                (self.total_steps - 1, f"initial_{p}", f"min_{p}"),
            ]
        else:
            self.phases = [
                (first_end, f"initial_{p}", f"max_{p}"),
                (self.total_steps - 1, f"max_{p}", f"min_{p}"),
            ]
        if last_step == -1:
            for group in target.param_groups:
                group[f"initial_{p}"] = eta_max / div_factor
                group[f"max_{p}"] = eta_max
                group[f"min_{p}"] = group[f"initial_{p}"] / final_div_factor
        super().__init__(target, param_name, begin=begin, end=end, last_step=last_step, by_epoch=by_epoch)

    def _get_value(self) -> list[float]:
        k = self.last_step
        if k > self.total_steps:
            raise ValueError(f"tried to step {k + 1} times; total_steps is {self.total_steps}")
        values: list[float] = []
        for group in self._groups():
            start_step = 0.0
            for i, (end_step, start_key, end_key) in enumerate(self.phases):
                if k <= end_step or i == len(self.phases) - 1:
                    pct = (k - start_step) / (end_step - start_step)
                    values.append(_anneal(self.anneal_strategy, group[start_key], group[end_key], pct))
                    break
                start_step = end_step
        return values


class OneCycleSchedulerConfig(SchedulerConfigBase):
    """The 1cycle learning-rate policy (MMEngine ``OneCycleLR``); ``param`` can only be ``lr``."""

    type: Tag[Literal["one-cycle"]] = "one-cycle"
    tag_aliases: ClassVar[Mapping[str, Mapping[str, object]]] = {"onecycle_lr": {"param": "lr"}}

    param: Literal["lr"] = Field(
        "lr",
        description="The param-group key to schedule: only lr (MMEngine's OneCycle does not cycle momentum).",
    )
    eta_max: float = Field(gt=0.0, description="Peak learning rate of the cycle.")
    total_steps: int | None = Field(None, ge=1, description="Steps in the cycle; None: end - begin.")
    pct_start: float = Field(
        0.3, gt=0.0, le=1.0, description="Fraction of the cycle spent increasing the lr."
    )
    anneal_strategy: Literal["cos", "linear"] = Field("cos", description="Annealing shape.")
    div_factor: float = Field(25.0, gt=0.0, description="Initial lr = eta_max / div_factor.")
    final_div_factor: float = Field(1e4, gt=0.0, description="Final lr = initial lr / final_div_factor.")
    three_phase: bool = Field(False, description="Come back to the initial lr before the final annealing.")

    def _create(
        self, target: SchedulerTarget, *, begin: int, end: int, by_epoch: bool, scale: int
    ) -> ParamScheduler:
        return OneCycleParamScheduler(
            target,
            self.param,
            eta_max=self.eta_max,
            total_steps=None if self.total_steps is None else self.total_steps * scale,
            pct_start=self.pct_start,
            anneal_strategy=self.anneal_strategy,
            div_factor=self.div_factor,
            final_div_factor=self.final_div_factor,
            three_phase=self.three_phase,
            begin=begin,
            end=end,
            by_epoch=by_epoch,
        )
