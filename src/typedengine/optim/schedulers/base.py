"""The parameter-scheduler base: MMEngine's chainable, windowed schedule semantics, and the config base.

A scheduler changes one key (``lr``, ``momentum`` or any other) of every param group. Semantics, exactly
as MMEngine's ``_ParamScheduler``:

* The constructor calls :meth:`ParamScheduler.step` once (global step 0), so the step-0 value is applied
  at build time.
* Each ``step()`` advances the global step; the scheduler is *active* while ``begin <= global_step < end``
  and ``last_step`` counts active steps only. Outside its window it leaves the value untouched.
* Values are computed recursively from the current group value (chainable form), so schedulers whose
  windows overlap compound multiplicatively; ``initial_<param>`` is set once per group (the first
  scheduler built records the configured value) and is the source of ``base_values``.
* ``momentum`` on an Adam-style optimizer (``betas`` and no ``momentum`` default) schedules ``betas[0]``.

``by_epoch`` schedulers are stepped after each training epoch, the others after each iteration, by the
:class:`~typedengine.hooks.param_scheduler.ParamSchedulerHook`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Protocol

from pydantic import Field, model_validator
from typing_extensions import Self

from ...config.base import Config

__all__ = ["INF", "ParamScheduler", "SchedulerConfigBase", "SchedulerTarget", "former_tags"]

INF = int(1e9)
"""``end`` of a window that never closes (MMEngine's INF)."""


class SchedulerTarget(Protocol):
    """What a scheduler drives: an :class:`~typedengine.optim.wrapper.OptimWrapper` or a torch optimizer."""

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        """The param groups whose values are scheduled."""

    @property
    def defaults(self) -> dict[str, Any]:
        """The optimizer's default hyper-parameters (used to detect ``betas``)."""


class ParamScheduler:
    """Base of the chainable schedulers: windowing, counting, value writing, state dict.

    Subclasses implement :meth:`_get_value` (the value of each group at the current ``last_step``,
    computed from the groups' current values). Args are MMEngine's: ``begin``/``end`` bound the window
    (``end`` exclusive), ``last_step`` (-1 for a fresh start) and ``by_epoch``.
    """

    need_val_args: ClassVar[bool] = False
    """True for schedulers fed by validation metrics (ReduceOnPlateau)."""

    _state_keys: ClassVar[tuple[str, ...]] = ("_global_step", "last_step", "base_values", "_last_value")

    def __init__(
        self,
        target: SchedulerTarget,
        param_name: str,
        *,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
    ) -> None:
        if end <= begin:
            raise ValueError(f"end should be larger than begin, but got begin={begin}, end={end}")
        if last_step < -1:
            raise ValueError(f"last_step must be >= -1, got {last_step}")
        self.target = target
        self.param_name = param_name
        self.begin = begin
        self.end = end
        self.by_epoch = by_epoch
        self._use_betas = False
        groups = target.param_groups
        if param_name == "momentum" and "momentum" not in target.defaults:
            if "betas" not in target.defaults:
                raise ValueError(
                    "the optimizer has neither momentum nor betas; a momentum scheduler cannot drive it"
                )
            self._use_betas = True
            for group in groups:
                group["momentum"] = group["betas"][0]
        key = f"initial_{param_name}"
        if last_step == -1:
            for group in groups:
                if param_name not in group:
                    raise KeyError(f"param groups have no {param_name!r} to schedule")
                group.setdefault(key, group[param_name])
        else:
            for i, group in enumerate(groups):
                if key not in group:
                    raise KeyError(
                        f"{key!r} missing in param_groups[{i}] when resuming with last_step={last_step}"
                    )
        self.base_values: list[float] = [group[key] for group in groups]
        self.last_step = last_step
        self._global_step = -1
        self._last_value: list[float] = []
        self.step()

    @property
    def global_step(self) -> int:
        """Steps taken since construction (0 right after it)."""
        return self._global_step

    def _get_value(self) -> list[float]:
        """The value of each group at ``last_step`` (chainable: from the groups' current values)."""
        raise NotImplementedError

    def _groups(self) -> list[dict[str, Any]]:
        return self.target.param_groups

    def _current(self) -> list[float]:
        return [group[self.param_name] for group in self._groups()]

    def _write(self, values: list[float]) -> None:
        for group, value in zip(self._groups(), values):
            group[self.param_name] = value

    def _sync_betas(self) -> None:
        if self._use_betas:
            for group in self._groups():
                group["betas"] = (group["momentum"], group["betas"][1])

    def step(self) -> None:
        """Advance one step (an epoch or an iteration) and write the new value if inside the window."""
        self._global_step += 1
        if self.begin <= self._global_step < self.end:
            self.last_step += 1
            self._write(self._get_value())
        self._sync_betas()
        self._last_value = self._current()

    def step_with_metrics(self, metrics: Mapping[str, float]) -> None:
        """Feed validation metrics (only schedulers with ``need_val_args`` use them)."""
        raise TypeError(f"{type(self).__name__} does not take validation metrics")

    def get_last_value(self) -> list[float]:
        """The value of each group after the last step."""
        return list(self._last_value)

    def state_dict(self) -> dict[str, object]:
        """The progress of the schedule (plain numbers and lists; safe for ``weights_only`` loading).

        Only progress is saved — counters, base values and scheduler-specific state — while the schedule's
        settings come from the config on resume. The scheduled values themselves live in the optimizer's
        param groups, which the optimizer state dict restores.
        """
        return {key: _plain(getattr(self, key)) for key in self._state_keys}

    def load_state_dict(self, state: Mapping[str, object]) -> None:
        """Restore the progress saved by :meth:`state_dict`."""
        for key in self._state_keys:
            if key in state:
                value = state[key]
                setattr(self, key, list(value) if isinstance(value, (list, tuple)) else value)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(param={self.param_name!r}, begin={self.begin}, end={self.end}, "
            f"by_epoch={self.by_epoch})"
        )


def _plain(value: object) -> object:
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


class SchedulerConfigBase(Config):
    """Fields every scheduler config shares: the scheduled key, the window and its unit.

    ``end=None`` means the run length (``max_epochs`` for by-epoch schedulers, ``max_iters`` otherwise).
    ``convert_to_iter_based`` keeps writing the schedule in epochs but steps it every iteration: begin,
    end and the epoch-valued settings (milestones, step size, periods, ...) are multiplied by the epoch
    length.

    One config per schedule kind: MMEngine's ``LinearLR``, ``LinearMomentum`` and ``LinearParamScheduler``
    are all :class:`~typedengine.optim.schedulers.linear.LinearSchedulerConfig`, with ``param`` set to
    ``"lr"``, ``"momentum"`` or the key. Their former tags (``linear_lr``, ``linear_momentum``,
    ``linear_param`` with ``param_name``) still load.
    """

    renamed_fields: ClassVar[Mapping[str, str]] = {"param_name": "param"}

    param: str = Field(
        "lr",
        min_length=1,
        description=(
            "The param-group key to schedule: lr, momentum (betas[0] on Adam-style optimizers), or any "
            "other key such as weight_decay."
        ),
    )
    begin: int = Field(0, ge=0, description="First step of the window (epochs if by_epoch, else iterations).")
    end: int | None = Field(
        None, gt=0, description="Step that closes the window (exclusive); None: the end of the run."
    )
    by_epoch: bool = Field(True, description="Step once per epoch (True) or once per iteration (False).")
    convert_to_iter_based: bool = Field(
        False, description="Written in epochs but stepped per iteration (needs by_epoch=True)."
    )

    @model_validator(mode="after")
    def _window(self) -> Self:
        if self.end is not None and self.end <= self.begin:
            raise ValueError(f"end ({self.end}) must be larger than begin ({self.begin})")
        if self.convert_to_iter_based and not self.by_epoch:
            raise ValueError("convert_to_iter_based needs by_epoch=True (the schedule is written in epochs)")
        return self

    def resolved_end(self, *, max_epochs: int, max_iters: int) -> int:
        """``end`` in the config's own unit, with None filled by the run length."""
        if self.end is not None:
            return self.end
        return max_epochs if self.by_epoch else max_iters

    def build(
        self, target: SchedulerTarget, *, epoch_length: int, max_epochs: int, max_iters: int
    ) -> ParamScheduler:
        """Build the scheduler on ``target``, filling ``end`` and converting epochs to iterations if asked."""
        end = self.resolved_end(max_epochs=max_epochs, max_iters=max_iters)
        if not self.convert_to_iter_based:
            return self._create(target, begin=self.begin, end=end, by_epoch=self.by_epoch, scale=1)
        if epoch_length <= 0:
            raise ValueError(f"convert_to_iter_based needs a positive epoch_length, got {epoch_length}")
        return self._create(
            target,
            begin=int(self.begin * epoch_length),
            end=end if end == INF else int(end * epoch_length),
            by_epoch=False,
            scale=epoch_length,
        )

    def _create(
        self, target: SchedulerTarget, *, begin: int, end: int, by_epoch: bool, scale: int
    ) -> ParamScheduler:
        """Build the runtime scheduler; ``scale`` multiplies epoch-valued settings (1 unless converted)."""
        raise NotImplementedError


def former_tags(prefix: str) -> dict[str, dict[str, object]]:
    """The tags of one kind before the variants merged: ``<prefix>_lr``, ``_momentum`` and ``_param``
    (whose ``param_name``, default ``lr``, became ``param``)."""
    return {
        f"{prefix}_lr": {"param": "lr"},
        f"{prefix}_momentum": {"param": "momentum"},
        f"{prefix}_param": {"param": "lr"},
    }
