"""ReduceOnPlateau: multiply by ``factor`` when a validation metric stops improving (MMEngine semantics).

Fed by validation metrics through :meth:`ReduceOnPlateauParamScheduler.step_with_metrics` (the
param-scheduler hook calls it after each validation epoch); plain :meth:`step` calls only count epochs,
which place the validation inside or outside the ``[begin, end)`` window. A metric value is *better* when
``rule="less"``: ``a < best * (1 - threshold)`` (``threshold_rule="rel"``) or ``a < best - threshold``
(``"abs"``); ``rule="greater"`` mirrors it. After more than ``patience`` bad validations the value becomes
``max(v * factor, min_value)`` (skipped when the change is below ``eps``), followed by ``cooldown``
validations in which bad results are not counted. By epoch only, as in MMEngine.

Example::

    ReduceOnPlateauSchedulerConfig(monitor="accuracy/top1", rule="greater", patience=3, factor=0.5)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar, Literal

from pydantic import Field, model_validator
from typing_extensions import Self

from ...config.base import Tag
from .base import INF, ParamScheduler, SchedulerConfigBase, SchedulerTarget, former_tags

__all__ = ["ReduceOnPlateauParamScheduler", "ReduceOnPlateauSchedulerConfig"]


class ReduceOnPlateauParamScheduler(ParamScheduler):
    """Reduce ``param_name`` by ``factor`` when the ``monitor`` metric plateaus."""

    need_val_args: ClassVar[bool] = True
    _state_keys: ClassVar[tuple[str, ...]] = (
        "_global_step",
        "last_step",
        "best",
        "num_bad_epochs",
        "cooldown_counter",
        "_last_value",
    )

    def __init__(
        self,
        target: SchedulerTarget,
        param_name: str,
        *,
        monitor: str = "loss",
        rule: Literal["less", "greater"] = "less",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_rule: Literal["rel", "abs"] = "rel",
        cooldown: int = 0,
        min_value: float | Sequence[float] = 0.0,
        eps: float = 1e-8,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
    ) -> None:
        if end <= begin:
            raise ValueError(f"end should be larger than begin, but got begin={begin}, end={end}")
        if not by_epoch:
            raise ValueError("ReduceOnPlateau only supports by_epoch=True")
        if factor >= 1.0:
            raise ValueError(f"factor must be < 1.0, got {factor}")
        if threshold < 0:
            raise ValueError(f"threshold must be >= 0, got {threshold}")
        if rule not in ("less", "greater") or threshold_rule not in ("rel", "abs"):
            raise ValueError(f"unknown rule {rule!r} / threshold_rule {threshold_rule!r}")
        self.target = target
        self.param_name = param_name
        self.begin, self.end, self.by_epoch = begin, end, by_epoch
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
        for i, group in enumerate(groups):
            if last_step == -1:
                group.setdefault(key, group[param_name])
            elif key not in group:
                raise KeyError(
                    f"{key!r} missing in param_groups[{i}] when resuming with last_step={last_step}"
                )
        self.base_values = [group[key] for group in groups]
        self.last_step = last_step
        self._global_step = 0
        if isinstance(min_value, (int, float)):
            self.min_values = [float(min_value)] * len(groups)
        else:
            self.min_values = [float(v) for v in min_value]
            n_real = len(groups) - (1 if getattr(target, "base_param_settings", None) is not None else 0)
            if len(self.min_values) != n_real:
                raise ValueError(f"expected {n_real} min values, got {len(self.min_values)}")
            if n_real < len(groups):
                self.min_values.append(self.min_values[-1])
        self.monitor = monitor
        self.rule = rule
        self.factor = factor
        self.patience = patience
        self.threshold = threshold
        self.threshold_rule = threshold_rule
        self.cooldown = cooldown
        self.eps = eps
        self.best: float = INF if rule == "less" else -INF
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self._last_value = self._current()

    def step(self) -> None:
        """Count one epoch (no metrics: values are untouched)."""
        self._global_step += 1

    def _is_better(self, value: float) -> bool:
        if self.rule == "less":
            if self.threshold_rule == "rel":
                return value < self.best * (1.0 - self.threshold)
            return value < self.best - self.threshold
        if self.threshold_rule == "rel":
            return value > self.best * (self.threshold + 1.0)
        return value > self.best + self.threshold

    def _get_value(self) -> list[float]:
        return [max(float(v) * self.factor, m) for v, m in zip(self._current(), self.min_values)]

    def step_with_metrics(self, metrics: Mapping[str, float]) -> None:
        """Judge the ``monitor`` metric and reduce the value after ``patience`` bad validations."""
        if self.begin <= self._global_step < self.end:
            self.last_step += 1
            if self.monitor not in metrics:
                raise KeyError(
                    f"ReduceOnPlateau monitors {self.monitor!r}, but the metrics are {sorted(metrics)}"
                )
            value = float(metrics[self.monitor])
            if self._is_better(value):
                self.best = value
                self.num_bad_epochs = 0
            else:
                self.num_bad_epochs += 1
            if self.cooldown_counter > 0:
                self.cooldown_counter -= 1
                self.num_bad_epochs = 0
            if self.num_bad_epochs > self.patience:
                for group, new in zip(self._groups(), self._get_value()):
                    if group[self.param_name] - new > self.eps:
                        group[self.param_name] = new
                self.cooldown_counter = self.cooldown
                self.num_bad_epochs = 0
        self._sync_betas()
        self._last_value = self._current()


class ReduceOnPlateauSchedulerConfig(SchedulerConfigBase):
    """Reduce ``param`` on a plateau of a validation metric (MMEngine ``ReduceOnPlateauLR`` /
    ``ReduceOnPlateauMomentum`` / ``ReduceOnPlateauParamScheduler``)."""

    type: Tag[Literal["reduce-on-plateau"]] = "reduce-on-plateau"
    tag_aliases: ClassVar[Mapping[str, Mapping[str, object]]] = former_tags("plateau")

    monitor: str = Field("loss", min_length=1, description="Validation metric key to watch.")
    rule: Literal["less", "greater"] = Field(
        "less", description="Whether smaller or larger metric is better."
    )
    factor: float = Field(0.1, gt=0.0, lt=1.0, description="Multiplier applied on a plateau.")
    patience: int = Field(10, ge=0, description="Bad validations tolerated before reducing.")
    threshold: float = Field(1e-4, ge=0.0, description="Minimum change that counts as an improvement.")
    threshold_rule: Literal["rel", "abs"] = Field(
        "rel", description="Threshold relative to best, or absolute."
    )
    cooldown: int = Field(0, ge=0, description="Validations to wait after a reduction before counting again.")
    min_value: float = Field(0.0, ge=0.0, description="Lower bound of the value.")
    eps: float = Field(1e-8, ge=0.0, description="Smaller changes are skipped.")

    @model_validator(mode="after")
    def _epoch_only(self) -> Self:
        if not self.by_epoch or self.convert_to_iter_based:
            raise ValueError("ReduceOnPlateau is stepped by validation epochs: by_epoch must stay True")
        return self

    def _create(
        self, target: SchedulerTarget, *, begin: int, end: int, by_epoch: bool, scale: int
    ) -> ParamScheduler:
        return ReduceOnPlateauParamScheduler(
            target,
            self.param,
            monitor=self.monitor,
            rule=self.rule,
            factor=self.factor,
            patience=self.patience,
            threshold=self.threshold,
            threshold_rule=self.threshold_rule,
            cooldown=self.cooldown,
            min_value=self.min_value,
            eps=self.eps,
            begin=begin,
            end=end,
            by_epoch=by_epoch,
        )
