"""Log lines in MMEngine's exact shape, built from the message hub's smoothed histories.

Lines as MMEngine 0.10.7's ``LogProcessor`` writes them (``·`` marks a space that ends a line)::

    Epoch(train) [1][ 10/1563]  lr: 1.0000e-03  eta: 0:18:23  time: 0.1414  data_time: 0.0077  loss: 5.3465
    Epoch(val) [1][ 10/313]    eta: 0:00:03  time: 0.0122  data_time: 0.0047 ··
    Epoch(val) [1][313/313]    accuracy: 35.7000  data_time: 0.0047  time: 0.0122
    Epoch(test) [313/313]    accuracy: 35.7000  data_time: 0.0047  time: 0.0122
    Iter(train) [  10/1000]  lr: 1.0000e-03  eta: 0:01:40  time: 0.1000  data_time: 0.0100  loss: 0.5000
    Iter(val) [313/313]    accuracy: 35.7000  data_time: 0.0047  time: 0.0122

The layout is MMEngine's: the head, two spaces, the lr group (possibly empty), two spaces, then
``eta``/``time``/``data_time`` (when the timer runs), ``memory`` (on CUDA) and the other values, each followed
by two spaces except the last train value. So val/test iteration lines end with two spaces, and an empty lr
group gives four spaces after the head, exactly as in MMEngine's files (log parsers were written for those).
The epoch field is right-aligned to ``len(str(max_epochs)) + 3`` on train and val iteration lines, the
iteration counter to the width of the loader length (``max_iters`` in iteration mode). Val and test
iteration lines carry no values beyond the timings (MMEngine's filter for ``val/loss`` never matches). The
epoch-end line lists the metrics, then the epoch means of ``data_time`` and ``time``. A validation outside
training (``runner.val()``) prints epoch 0 as MMEngine does: ``Epoch(val)[0][ 10/313]`` on iteration lines
(no space: MMEngine's own quirk, kept for parsers) and ``Epoch(val) [0][313/313]`` at the end.

Deliberate differences, all in values, none in shape: ``by_epoch=None`` (the default) follows the train loop,
so an iteration-based run prints ``Iter(train) [ 10/1000]`` without any setting — never MMEngine's
``Epoch(train) [1][6/5]``; the epoch-end line shows the metrics of this evaluation (MMEngine averages
metrics whose names match ``mean_pattern``, such as a validation ``loss``, over the last 10 evaluations).
Keys matching ``mean_pattern`` are averaged over the last ``window_size`` values, other keys show their latest
value; keys ending in ``lr`` print as ``1.0000e-03``, others with ``num_digits`` decimals.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

from pydantic import Field, model_validator

from ..config.base import Config
from ..config.errors import ConfigIssue, ConfigProblems
from .history import History, MessageHub

__all__ = [
    "DEFAULT_MEAN_PATTERN",
    "LogPosition",
    "LogProcessor",
    "LogProcessorConfig",
    "Smoothing",
    "SmoothingConfig",
]

DEFAULT_MEAN_PATTERN = r".*(loss|time|data_time|grad_norm).*"

Mode = Literal["train", "val", "test"]
Method = Literal["mean", "min", "max", "current"]
Window = int | Literal["epoch", "global"]


class Smoothing(NamedTuple):
    """How one key is summarised in log lines: ``method`` over ``window`` values, shown as ``log_name``."""

    key: str
    method: Method = "mean"
    window: Window = 10
    log_name: str | None = None


class SmoothingConfig(Config):
    """Per-key smoothing for log lines (MMEngine's ``custom_cfg`` entry).

    Example: ``SmoothingConfig(key="loss", method="max", window="epoch", log_name="loss_max")`` adds a
    ``loss_max`` column with the largest loss of the epoch so far; without ``log_name`` it replaces ``loss``.
    """

    key: str = Field(description="Scalar name without the mode prefix (e.g. 'loss', 'grad_norm').")
    method: Method = Field("mean", description="Statistic: mean, min, max or current (the latest value).")
    window: Window = Field(
        10, description="Number of recent values, 'epoch' (since the epoch began) or 'global' (whole run)."
    )
    log_name: str | None = Field(None, description="Column name; None replaces the key's own column.")

    @model_validator(mode="after")
    def _positive_window(self) -> SmoothingConfig:
        if isinstance(self.window, int) and self.window < 1:
            raise ValueError(f"window must be >= 1, 'epoch' or 'global', got {self.window}")
        return self

    def build(self) -> Smoothing:
        """The runtime value the :class:`LogProcessor` takes."""
        return Smoothing(self.key, self.method, self.window, self.log_name)


class LogProcessorConfig(Config):
    """How log lines are formatted and smoothed.

    Example: ``LogProcessorConfig(window_size=20, custom=(SmoothingConfig(key="loss", window="global"),))``.
    """

    window_size: int = Field(10, ge=1, description="Iterations averaged for keys matching mean_pattern.")
    by_epoch: bool | None = Field(
        None, description="Epoch-style lines ('Epoch(train) [e][i/n]'); None follows the train loop."
    )
    custom: tuple[SmoothingConfig, ...] = Field((), description="Per-key smoothing overrides.")
    num_digits: int = Field(4, ge=0, le=12, description="Decimals of logged values.")
    mean_pattern: str = Field(
        DEFAULT_MEAN_PATTERN, description="Regex of keys averaged over the window (others show the latest)."
    )
    pad_iter: bool = Field(
        True,
        description="Right-justify the iteration counter to the loader length's width, as MMEngine does.",
    )

    @model_validator(mode="after")
    def _check(self) -> LogProcessorConfig:
        issues: list[ConfigIssue] = []
        try:
            re.compile(self.mean_pattern)
        except re.error as exc:
            issues.append(ConfigIssue("mean_pattern", f"not a valid regular expression: {exc}"))
        seen: set[str] = set()
        for i, c in enumerate(self.custom):
            name = c.log_name or c.key
            if c.log_name is not None and name in seen:
                issues.append(ConfigIssue(f"custom[{i}].log_name", f"duplicate log_name {name!r}"))
            seen.add(name)
            if c.window == "epoch" and self.by_epoch is False:
                issues.append(ConfigIssue(f"custom[{i}].window", "'epoch' needs by_epoch (it is False)"))
        if issues:
            raise ConfigProblems(issues)
        return self

    def build(self) -> LogProcessor:
        """The :class:`LogProcessor` this config describes."""
        return LogProcessor(
            window_size=self.window_size,
            by_epoch=self.by_epoch,
            custom=tuple(c.build() for c in self.custom),
            num_digits=self.num_digits,
            mean_pattern=self.mean_pattern,
            pad_iter=self.pad_iter,
        )


@dataclass(frozen=True)
class LogPosition:
    """Where the run stands when a line is logged (filled by the logger hook from the runner).

    ``batch_idx``: 0-based index of the batch just finished in the current loader pass. ``loader_len``:
    batches per pass (None when unknown). ``epoch``: the epoch shown (the training epoch in progress for
    train lines, the epoch just trained for val lines). ``iter``: training iterations done, including the
    current one. ``train_by_epoch``: the train loop's unit, or None in a val/test-only run.
    """

    mode: Mode
    batch_idx: int
    loader_len: int | None
    epoch: int = 0
    iter: int = 0
    max_epochs: int = 0
    max_iters: int = 0
    train_by_epoch: bool | None = None


class LogProcessor:
    """Turns the message hub's histories into ``(scalars, line)`` pairs at the log interval.

    Example::

        proc = LogProcessor(window_size=10)
        tag, line = proc.iter_log(hub, LogPosition("train", 9, 1563, epoch=1, iter=10, max_epochs=5))
    """

    def __init__(
        self,
        *,
        window_size: int = 10,
        by_epoch: bool | None = None,
        custom: Sequence[Smoothing] = (),
        num_digits: int = 4,
        mean_pattern: str = DEFAULT_MEAN_PATTERN,
        pad_iter: bool = True,
    ) -> None:
        if window_size < 1:
            raise ValueError(f"window_size must be >= 1, got {window_size}")
        self.window_size = window_size
        self.by_epoch = by_epoch
        self.custom = tuple(custom)
        self.num_digits = num_digits
        self.mean_pattern = re.compile(mean_pattern)
        self.pad_iter = pad_iter
        self._averaged: dict[str, bool] = {}  # name -> matches mean_pattern (decided once per name)

    # --- statistics ------------------------------------------------------------------------------------
    def _window(self, window: Window, pos: LogPosition) -> int | None:
        if window == "global":
            return None
        if window == "epoch":
            return pos.batch_idx + 1
        return window

    def _stat(self, history: History, method: Method, window: Window, pos: LogPosition) -> float:
        if method == "current":
            return history.current()
        if method == "mean" and window == "global":
            return history.global_mean()
        w = self._window(window, pos)
        if method == "mean":
            return history.mean(w)
        return history.min(w) if method == "min" else history.max(w)

    def collect(self, hub: MessageHub, pos: LogPosition) -> dict[str, float]:
        """Smoothed values of every ``<mode>/`` scalar, keyed without the prefix (custom rules applied)."""
        prefix = f"{pos.mode}/"
        cut = len(prefix)
        averaged = self._averaged
        out: dict[str, float] = {}
        for key, history in hub.scalars.items():
            if not key.startswith(prefix) or len(history) == 0:
                continue
            name = key[cut:]
            mean = averaged.get(name)
            if mean is None:
                mean = averaged[name] = self.mean_pattern.fullmatch(name) is not None
            out[name] = history.mean(self.window_size) if mean else history.current()
        for rule in self.custom:
            key = prefix + rule.key
            if not hub.has_scalar(key) or len(hub.get_scalar(key)) == 0:
                continue
            out[rule.log_name or rule.key] = self._stat(hub.get_scalar(key), rule.method, rule.window, pos)
        return out

    # --- formatting ------------------------------------------------------------------------------------
    def resolved_by_epoch(self, pos: LogPosition) -> bool:
        """Epoch-style lines: the setting, else the train loop's unit, else True (a val/test-only run)."""
        if self.by_epoch is not None:
            return self.by_epoch
        return True if pos.train_by_epoch is None else pos.train_by_epoch

    def _counter(self, done: int, total: int | None) -> str:
        if total is None:
            return f"[{done}]"
        text = str(done).rjust(len(str(total))) if self.pad_iter else str(done)
        return f"[{text}/{total}]"

    def head(self, pos: LogPosition) -> str:
        """The head of an iteration line: ``Epoch(train) [1][ 10/1563]``, ``Iter(train) [  10/1000]`` …"""
        if self.resolved_by_epoch(pos):
            counter = self._counter(pos.batch_idx + 1, pos.loader_len)
            if pos.mode == "test":
                return f"Epoch(test) {counter}"
            if pos.mode == "val" and pos.train_by_epoch is None:  # no train loop: epoch 0, no space
                return f"Epoch(val)[0]{counter}"
            width = len(str(pos.max_epochs)) + 3 if pos.max_epochs else 0
            epoch = f"[{pos.epoch}]".rjust(width) if width else f" [{pos.epoch}]"
            return f"Epoch({pos.mode}){epoch}{counter}"
        if pos.mode == "train":
            return f"Iter(train) {self._counter(pos.iter, pos.max_iters or None)}"
        return f"Iter({pos.mode}) {self._counter(pos.batch_idx + 1, pos.loader_len)}"

    def epoch_head(self, pos: LogPosition) -> str:
        """The head of the line at the end of a val/test epoch: ``Epoch(val) [1][313/313]`` (never padded)."""
        n = pos.loader_len if pos.loader_len is not None else pos.batch_idx + 1
        if not self.resolved_by_epoch(pos):
            return f"Iter({pos.mode}) [{n}/{n}]"
        if pos.mode == "test":
            return f"Epoch(test) [{n}/{n}]"
        epoch = pos.epoch if pos.train_by_epoch is not None else 0
        return f"Epoch(val) [{epoch}][{n}/{n}]"

    def _fmt(self, value: float) -> str:
        return f"{value:.{self.num_digits}f}"

    def iter_log(
        self,
        hub: MessageHub,
        pos: LogPosition,
        *,
        memory_mb: int | None = None,
    ) -> tuple[dict[str, float], str]:
        """The scalars of this iteration (``lr``, ``time`` … and ``memory``) and its line.

        Reads ``eta`` (seconds) from the hub's info. Train lines show every ``train/`` scalar; val and test
        lines only the timings, as MMEngine's do.
        """
        values = self.collect(hub, pos)
        tag = dict(values)
        lrs = [f"{k}: {v:.{self.num_digits}e}" for k, v in values.items() if k.endswith("lr")]
        line = f"{self.head(pos)}  {' '.join(lrs)}  "
        rest = {k: v for k, v in values.items() if not k.endswith("lr")}
        eta = hub.get_info("eta")
        if "time" in rest and "data_time" in rest and isinstance(eta, (int, float)):
            line += f"eta: {datetime.timedelta(seconds=int(eta))}  "
            line += f"time: {self._fmt(rest.pop('time'))}  data_time: {self._fmt(rest.pop('data_time'))}  "
        if memory_mb is not None:
            line += f"memory: {memory_mb}  "
            tag["memory"] = float(memory_mb)
        if pos.mode == "train":
            line += "  ".join(f"{name}: {self._fmt(value)}" for name, value in rest.items())
        return tag, line

    def epoch_log(
        self, hub: MessageHub, pos: LogPosition, metrics: Mapping[str, float]
    ) -> tuple[dict[str, float], str]:
        """The line at the end of a val/test epoch and its scalars (the numeric metrics, then the epoch means
        of ``data_time`` and ``time``): ``Epoch(val) [1][313/313]    accuracy: 35.7000  data_time: …``.

        ``pos.batch_idx + 1`` is the number of batches the epoch ran (the window of the time means).
        """
        tag: dict[str, float] = {}
        for name, value in metrics.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            tag[name] = float(value)
        done = pos.batch_idx + 1
        for name in ("data_time", "time"):
            key = f"{pos.mode}/{name}"
            if name not in tag and hub.has_scalar(key) and len(hub.get_scalar(key)) > 0:
                tag[name] = hub.get_scalar(key).mean(done)
        items = "  ".join(f"{name}: {self._fmt(value)}" for name, value in tag.items())
        return tag, f"{self.epoch_head(pos)}    {items}"
