"""Log lines in MMEngine's format, built from the message hub's smoothed histories.

::

    Epoch(train) [1][10/1563]  lr: 1.0000e-03  eta: 0:18:23  time: 0.1414  data_time: 0.0077  memory: 392  loss: 5.3465
    Epoch(val) [1][10/313]    eta: 0:00:03  time: 0.0122  data_time: 0.0047
    Epoch(val) [1][313/313]  accuracy: 35.7000
    Iter(train) [10/1000]  lr: 1.0000e-03  eta: 0:01:40  time: 0.1000  data_time: 0.0100  loss: 0.5000
    Epoch(test) [313/313]  accuracy: 35.7000

``by_epoch=None`` (the default) follows the train loop, so an iteration-based run prints ``Iter(train)
[10/1000]`` without any setting — never MMEngine's ``Epoch(train) [1][6/5]``. Keys matching ``mean_pattern``
are averaged over the last ``window_size`` values, other keys show their latest value; keys ending in ``lr``
print as ``1.0000e-03``, others with ``num_digits`` decimals. Deviation from MMEngine ≥ 0.3, kept from the
seed's log: the iteration counter is not padded to the loader length's width unless ``pad_iter`` is set.
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
        False,
        description="Right-justify the iteration counter to the loader length's width (MMEngine >= 0.3).",
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
        pad_iter: bool = False,
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

    def head(self, pos: LogPosition, *, end_of_epoch: bool = False) -> str:
        """``Epoch(train) [1][10/1563]``, ``Epoch(val) [1][313/313]``, ``Iter(train) [10/1000]`` …"""
        batch_done = pos.loader_len if end_of_epoch and pos.loader_len is not None else pos.batch_idx + 1
        if self.resolved_by_epoch(pos):
            epoch_str = ""
            if pos.mode == "train" or (pos.mode == "val" and pos.train_by_epoch is not None):
                epoch_str = (
                    f"[{pos.epoch}]".rjust(len(str(pos.max_epochs)) + 3)
                    if pos.max_epochs
                    else f" [{pos.epoch}]"
                )
            else:
                epoch_str = " "
            return f"Epoch({pos.mode}){epoch_str}{self._counter(batch_done, pos.loader_len)}"
        if pos.mode == "train":
            return f"Iter(train) {self._counter(pos.iter, pos.max_iters or None)}"
        return f"Iter({pos.mode}) {self._counter(batch_done, pos.loader_len)}"

    def _fmt(self, value: float) -> str:
        return f"{value:.{self.num_digits}f}"

    def iter_log(
        self,
        hub: MessageHub,
        pos: LogPosition,
        *,
        memory_mb: int | None = None,
    ) -> tuple[dict[str, float], str]:
        """The scalars logged at this iteration and the line; reads ``eta`` (seconds) from the hub's info.

        Train lines show every ``train/`` scalar; val/test lines show time, data_time and ``loss*`` keys.
        """
        values = self.collect(hub, pos)
        tag = dict(values)
        parts = [self.head(pos)]
        lrs = [f"{k}: {v:.{self.num_digits}e}" for k, v in values.items() if k.endswith("lr")]
        parts.append(" ".join(lrs))
        eta = hub.get_info("eta")
        if isinstance(eta, (int, float)):
            parts.append(f"eta: {datetime.timedelta(seconds=int(eta))}")
        if "time" in values:
            parts.append(f"time: {self._fmt(values['time'])}")
        if "data_time" in values:
            parts.append(f"data_time: {self._fmt(values['data_time'])}")
        if memory_mb is not None:
            parts.append(f"memory: {memory_mb}")
            tag["memory"] = float(memory_mb)
        for name, value in values.items():
            if name.endswith("lr") or name in ("time", "data_time"):
                continue
            if pos.mode != "train" and not name.startswith("loss"):
                tag.pop(name)
                continue
            parts.append(f"{name}: {self._fmt(value)}")
        return tag, _join(parts)

    def epoch_log(self, pos: LogPosition, metrics: Mapping[str, float]) -> tuple[dict[str, float], str]:
        """The metrics line at the end of a val/test epoch: ``Epoch(val) [1][313/313]  accuracy: 35.7000``."""
        tag: dict[str, float] = {}
        parts = [self.head(pos, end_of_epoch=True)]
        for name, value in metrics.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            tag[name] = float(value)
            parts.append(f"{name}: {self._fmt(float(value))}")
        return tag, "  ".join(parts)


def _join(parts: Sequence[str]) -> str:
    """MMEngine's spacing: the head, then an lr group (possibly empty), then items, two spaces apart."""
    head, lr, *rest = parts
    return "  ".join([head, lr, *rest]) if rest else f"{head}  {lr}".rstrip()
