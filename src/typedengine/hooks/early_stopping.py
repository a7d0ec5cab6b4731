"""EarlyStoppingHook: stop training when a validation metric stops improving.

After each validation, the monitored metric is compared with the best so far. It improves when it beats
the best by more than ``min_delta`` (in the rule's direction); after ``patience`` validations in a row
without improvement, ``runner.train_loop.stop_training`` is set and the loop ends after this epoch (or
iteration). It also stops at once when the metric reaches ``stopping_threshold``, or (``check_finite``)
when it is NaN/inf. The best value and the wait count are saved in checkpoints, so resume continues them.

``rule=None`` infers the direction from the key: keys containing ``loss`` are minimised; ``acc``, ``top``,
``AR@``, ``auc``, ``precision``, ``mAP``, ``mDice``, ``mIoU``, ``mAcc``, ``aAcc`` maximised (MMEngine's lists);
any other key needs an explicit rule (a config error otherwise).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from ..config.base import Config, Tag
from .hook import Hook
from .priority import Priority

if TYPE_CHECKING:
    from ..runner.runner import Runner

__all__ = ["EarlyStoppingHook", "EarlyStoppingHookConfig", "infer_rule"]

Rule = Literal["greater", "less"]
GREATER_KEYS = ("acc", "top", "AR@", "auc", "precision", "mAP", "mDice", "mIoU", "mAcc", "aAcc")
LESS_KEYS = ("loss",)
_STATE_KEY = "early_stopping"


def infer_rule(key: str) -> Rule | None:
    """``less`` for loss-like keys, ``greater`` for accuracy-like keys (case-insensitive), else None."""
    lowered = key.lower()
    if any(k.lower() in lowered for k in LESS_KEYS):
        return "less"
    if any(k.lower() in lowered for k in GREATER_KEYS):
        return "greater"
    return None


class EarlyStoppingHook(Hook):
    """Sets ``runner.train_loop.stop_training`` when ``monitor`` stops improving (LOWEST priority).

    Example::

        EarlyStoppingHook(monitor="accuracy", patience=3, min_delta=0.01)
    """

    priority = Priority.LOWEST

    def __init__(
        self,
        monitor: str,
        *,
        rule: Rule | None = None,
        min_delta: float = 0.1,
        patience: int = 5,
        stopping_threshold: float | None = None,
        check_finite: bool = True,
        strict: bool = False,
    ) -> None:
        resolved = rule or infer_rule(monitor)
        if resolved is None:
            raise ValueError(f"cannot infer whether {monitor!r} should increase or decrease; set rule")
        if patience < 1:
            raise ValueError(f"patience must be >= 1, got {patience}")
        self.monitor = monitor
        self.rule: Rule = resolved
        self.min_delta = abs(min_delta)
        self.patience = patience
        self.stopping_threshold = stopping_threshold
        self.check_finite = check_finite
        self.strict = strict
        self.best = -math.inf if resolved == "greater" else math.inf
        self.wait_count = 0
        self.stopped_at_epoch: int | None = None
        self._training = False

    def _better(self, a: float, b: float) -> bool:
        return a > b if self.rule == "greater" else a < b

    def _improves(self, value: float) -> bool:
        target = self.best + self.min_delta if self.rule == "greater" else self.best - self.min_delta
        return self._better(value, target)

    def check(self, value: float) -> str | None:
        """Record one value; returns the reason to stop, or None to continue."""
        if self.stopping_threshold is not None and (
            self._better(value, self.stopping_threshold) or value == self.stopping_threshold
        ):
            return f"stopping threshold reached: {self.monitor} = {value} is {self.rule} than {self.stopping_threshold}"
        if self.check_finite and not math.isfinite(value):
            return f"{self.monitor} = {value} is not finite; best so far {self.best:.4f}"
        if self._improves(value):
            self.best = value
            self.wait_count = 0
            return None
        self.wait_count += 1
        if self.wait_count >= self.patience:
            return (
                f"{self.monitor} did not improve by more than {self.min_delta} in the last {self.wait_count} "
                f"validations; best {self.best:.4f}"
            )
        return None

    def before_train(self, runner: Runner) -> None:
        self._training = True

    def after_train(self, runner: Runner) -> None:
        self._training = False

    def after_val_epoch(self, runner: Runner, metrics: Mapping[str, float] | None = None) -> None:
        if not self._training:  # a stand-alone runner.val() has no training to stop
            return
        metrics = metrics or {}
        if self.monitor not in metrics:
            message = f"early stopping: {self.monitor!r} is not among the metrics {sorted(metrics)}"
            if self.strict:
                raise KeyError(message)
            runner.logger.warning(message + "; skipped")
            return
        reason = self.check(float(metrics[self.monitor]))
        if reason is not None:
            runner.train_loop.stop_training = True
            self.stopped_at_epoch = runner.state.epoch
            runner.logger.info(f"Early stopping: {reason}.")

    def before_save_checkpoint(self, runner: Runner, checkpoint: dict[str, object]) -> None:
        checkpoint[_STATE_KEY] = {"monitor": self.monitor, "best": self.best, "wait_count": self.wait_count}

    def after_load_checkpoint(self, runner: Runner, checkpoint: dict[str, object]) -> None:
        saved = checkpoint.get(_STATE_KEY)
        if isinstance(saved, dict) and saved.get("monitor") == self.monitor:
            best, wait = saved.get("best"), saved.get("wait_count")
            if isinstance(best, (int, float)) and isinstance(wait, int):
                self.best, self.wait_count = float(best), wait


class EarlyStoppingHookConfig(Config):
    """Stop training when a validation metric stops improving (``default_hooks.early_stopping``).

    Example: ``EarlyStoppingHookConfig(monitor="accuracy", patience=3, min_delta=0.01)``.
    """

    type: Tag[Literal["early-stopping"]] = "early-stopping"
    monitor: str = Field(description="Metric key to watch (as the evaluator names it, e.g. 'accuracy').")
    rule: Rule | None = Field(None, description="'greater' or 'less' is better; None infers from the key.")
    min_delta: float = Field(0.1, ge=0, description="Smallest change that counts as an improvement.")
    patience: int = Field(5, ge=1, description="Validations without improvement before stopping.")
    stopping_threshold: float | None = Field(
        None, description="Stop as soon as the metric reaches this value."
    )
    check_finite: bool = Field(True, description="Stop when the metric is NaN or infinite.")
    strict: bool = Field(False, description="Raise if the metric is missing (else warn and skip).")

    @model_validator(mode="after")
    def _rule_known(self) -> EarlyStoppingHookConfig:
        if self.rule is None and infer_rule(self.monitor) is None:
            raise ValueError(
                f"cannot infer whether {self.monitor!r} should increase or decrease; set rule='greater' or 'less'"
            )
        return self

    def build(self) -> EarlyStoppingHook:
        """The hook."""
        return EarlyStoppingHook(
            self.monitor,
            rule=self.rule,
            min_delta=self.min_delta,
            patience=self.patience,
            stopping_threshold=self.stopping_threshold,
            check_finite=self.check_finite,
            strict=self.strict,
        )
