"""EarlyStoppingHook: stop training when a validation metric stops improving.

After each validation in training, the monitored metric is compared with the best so far. It improves when
it beats the best by more than ``min_delta`` (in the rule's direction); after ``patience`` validations in a
row without improvement, ``runner.train_loop.stop_training`` is set and the loop ends after this epoch (or
iteration). It also stops at once when the metric reaches ``stopping_threshold``, or (``check_finite``) when
it is NaN/inf.

``rule=None`` infers the direction from the whole key, case-insensitively, as the checkpoint hook does
(:mod:`typedengine.evaluation.rules`: ``loss`` → less; ``acc``, ``top``, ``mAP``, ... → greater); an unknown
or ambiguous key needs an explicit rule (a config error). A monitor the evaluator does not produce is a
config error where the metric configs declare their keys, otherwise a
:class:`~typedengine.errors.UsageError` at the first validation (not a warning every epoch).

The state (best value, validations without improvement, whether and why it stopped) goes into every
checkpoint; a checkpoint written before its point's validation makes the resumed loop validate that point
first, so a resumed run stops at the same epoch as an uninterrupted one; where it stops, the checkpoint hook
writes the checkpoint after the validation. Resuming a run that early stopping ended trains nothing
("training already finished"), unless the early-stopping settings changed so that the stop no longer holds
(e.g. a larger ``patience``): the stop is then re-evaluated with the new settings.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from ..config.base import Config, Tag
from ..config.errors import ConfigIssue, ConfigProblems
from ..errors import UsageError
from ..evaluation.rules import Rule, infer_rule, rule_problem, unknown_key_message
from .hook import Hook
from .priority import Priority

if TYPE_CHECKING:
    from ..runner.runner import Runner

__all__ = ["EarlyStoppingHook", "EarlyStoppingHookConfig"]

_STATE_KEY = "early_stopping"
StopKind = Literal["patience", "threshold", "not_finite"]


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
        if patience < 1:
            raise ValueError(f"patience must be >= 1, got {patience}")
        self.monitor = monitor
        self.rule: Rule = rule or infer_rule(monitor)
        self.min_delta = abs(min_delta)
        self.patience = patience
        self.stopping_threshold = stopping_threshold
        self.check_finite = check_finite
        self.strict = strict
        self.best = -math.inf if self.rule == "greater" else math.inf
        self.wait_count = 0
        self.stopped = False
        """Whether early stopping ended (or, after a resume, had ended) the run."""
        self.stop_reason: str | None = None
        self.stop_kind: StopKind | None = None
        self.stopped_at_epoch: int | None = None
        self._training = False
        self._validations = 0
        self._warned = False

    def _better(self, a: float, b: float) -> bool:
        return a > b if self.rule == "greater" else a < b

    def _improves(self, value: float) -> bool:
        target = self.best + self.min_delta if self.rule == "greater" else self.best - self.min_delta
        return self._better(value, target)

    def _reached_threshold(self, value: float) -> bool:
        threshold = self.stopping_threshold
        return threshold is not None and (self._better(value, threshold) or value == threshold)

    def check(self, value: float) -> str | None:
        """Record one value; returns the reason to stop, or None to continue."""
        if self._reached_threshold(value):
            self.stop_kind = "threshold"
            if self._better(value, self.best):
                self.best = value
            return f"stopping threshold reached: {self.monitor} = {value} is {self.rule} than {self.stopping_threshold}"
        if self.check_finite and not math.isfinite(value):
            self.stop_kind = "not_finite"
            return f"{self.monitor} = {value} is not finite; best so far {self.best:.4f}"
        if self._improves(value):
            self.best = value
            self.wait_count = 0
            return None
        self.wait_count += 1
        if self.wait_count >= self.patience:
            self.stop_kind = "patience"
            return (
                f"{self.monitor} did not improve by more than {self.min_delta} in the last {self.wait_count} "
                f"validations; best {self.best:.4f}"
            )
        return None

    def before_train(self, runner: Runner) -> None:
        self._training = True
        if self.stopped:  # resumed from a checkpoint of a run this hook ended: train nothing
            runner.train_loop.stop_training = True

    def after_train(self, runner: Runner) -> None:
        self._training = False

    def after_val_epoch(self, runner: Runner, metrics: Mapping[str, float] | None = None) -> None:
        if not self._training or self.stopped:  # a stand-alone runner.val() has no training to stop
            return
        metrics = metrics or {}
        first = self._validations == 0
        self._validations += 1
        if self.monitor not in metrics:
            message = f"EarlyStoppingHook(monitor): {unknown_key_message(self.monitor, metrics)}"
            if first or self.strict:
                raise UsageError(message)
            if not self._warned:  # a key that appeared before and vanished: said once
                self._warned = True
                runner.logger.warning(message + "; skipped")
            return
        reason = self.check(float(metrics[self.monitor]))
        if reason is not None:
            runner.train_loop.stop_training = True
            self.stopped, self.stop_reason = True, reason
            self.stopped_at_epoch = runner.state.epoch
            runner.logger.info(f"Early stopping: {reason}.")

    def _settings(self) -> dict[str, object]:
        return {
            "patience": self.patience,
            "min_delta": self.min_delta,
            "stopping_threshold": self.stopping_threshold,
            "check_finite": self.check_finite,
        }

    def before_save_checkpoint(self, runner: Runner, checkpoint: dict[str, object]) -> None:
        checkpoint[_STATE_KEY] = {
            "monitor": self.monitor,
            "rule": self.rule,
            "best": self.best,
            "wait_count": self.wait_count,
            "stopped": self.stopped,
            "stop_reason": self.stop_reason,
            "stop_kind": self.stop_kind,
            "stopped_at_epoch": self.stopped_at_epoch,
            "settings": self._settings(),
        }

    def after_load_checkpoint(self, runner: Runner, checkpoint: dict[str, object]) -> None:
        saved = checkpoint.get(_STATE_KEY)
        if not isinstance(saved, Mapping):
            return
        if saved.get("monitor") != self.monitor or saved.get("rule", self.rule) != self.rule:
            runner.logger.info(
                f"early stopping now watches {self.monitor!r} ({self.rule}); the checkpoint's state is for "
                f"{saved.get('monitor')!r} ({saved.get('rule')}): it starts afresh"
            )
            return
        best, wait = saved.get("best"), saved.get("wait_count")
        if isinstance(best, (int, float)) and isinstance(wait, int):
            self.best, self.wait_count = float(best), wait
        if not saved.get("stopped"):
            return
        kind, reason = saved.get("stop_kind"), saved.get("stop_reason")
        epoch = saved.get("stopped_at_epoch")
        if saved.get("settings") == self._settings():
            still = True
        elif kind == "patience":
            still = self.wait_count >= self.patience
        elif kind == "threshold":
            still = self._reached_threshold(self.best)
        else:
            still = kind == "not_finite" and self.check_finite
        if still:
            self.stopped, self.stop_kind = (
                True,
                kind if kind in ("patience", "threshold", "not_finite") else None,
            )
            self.stop_reason = str(reason) if reason is not None else "stopped"
            self.stopped_at_epoch = epoch if isinstance(epoch, int) else None
        else:
            runner.logger.info(
                f"early stopping had ended this run ({reason}); with the changed settings the stop no longer "
                "holds, so training continues"
            )


class EarlyStoppingHookConfig(Config):
    """Stop training when a validation metric stops improving (``default_hooks.early_stopping``).

    Example: ``EarlyStoppingHookConfig(monitor="accuracy", patience=3, min_delta=0.01)``.
    """

    type: Tag[Literal["early-stopping"]] = "early-stopping"
    monitor: str = Field(description="Metric key to watch (as the evaluator names it, e.g. 'accuracy').")
    rule: Rule | None = Field(
        None,
        description="'greater' or 'less' is better; None infers it from the whole key, case-insensitively.",
    )
    min_delta: float = Field(0.1, ge=0, description="Smallest change that counts as an improvement.")
    patience: int = Field(5, ge=1, description="Validations without improvement before stopping.")
    stopping_threshold: float | None = Field(
        None, description="Stop as soon as the metric reaches this value."
    )
    check_finite: bool = Field(True, description="Stop when the metric is NaN or infinite.")
    strict: bool = Field(
        False,
        description="Also raise when the metric goes missing after the first validation (else warn once); "
        "missing at the first validation always raises.",
    )

    @model_validator(mode="after")
    def _rule_known(self) -> EarlyStoppingHookConfig:
        problem = rule_problem(self.monitor) if self.rule is None else None
        if problem:
            raise ConfigProblems([ConfigIssue("monitor", problem)])
        return self

    def metric_issues(self, metric_keys: Sequence[str] | None, *, validates: bool) -> list[ConfigIssue]:
        """The monitor key when the validation will not produce it (``metric_keys`` None: not declared)."""
        if not validates:
            return [
                ConfigIssue(
                    "monitor",
                    "the run does not validate (no val_dataloader/val_evaluator), so early stopping never "
                    "acts; configure validation or remove the hook",
                )
            ]
        if metric_keys and self.monitor not in metric_keys:
            return [ConfigIssue("monitor", unknown_key_message(self.monitor, metric_keys))]
        return []

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
