"""IterTimerHook: ``time`` (per iteration), ``data_time`` (waiting for the loader) and ``eta``.

``<mode>/data_time`` is the time from the end of the previous iteration (or the start of the epoch) to the
start of this one; ``<mode>/time`` is the time between consecutive iteration ends. Both are host wall-clock
seconds (CUDA work is asynchronous, so without a sync ``time`` reflects the host's pace, which equals the
GPU's in steady state). ``eta`` (seconds, hub info) is the mean train iteration time since this run
(or resume) began × the iterations left; during val/test, the mean iteration time × the batches left.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Literal

from ..config.base import Config, Tag
from .hook import Hook
from .priority import Priority

if TYPE_CHECKING:
    from ..batches import DataBatch, StepOutputs
    from ..runner.runner import Runner

__all__ = ["IterTimerHook", "IterTimerHookConfig"]

# (data_time key, time key) per mode: no string is built per iteration
_KEYS = {mode: (f"{mode}/data_time", f"{mode}/time") for mode in ("train", "val", "test")}


class IterTimerHook(Hook):
    """Pushes ``time``/``data_time`` per iteration and keeps ``eta`` up to date (NORMAL).

    ``clock`` (seconds, monotonic) is injectable for tests.
    """

    priority = Priority.NORMAL

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self.clock = clock
        self._last: dict[str, float] = {}
        self._start_iter = 0
        self._train_time_s = 0.0
        self._eval_time_s = 0.0
        self._eval_iters = 0
        self._eval_len: int | None = None

    # --- epochs ----------------------------------------------------------------------------------------
    def before_train(self, runner: Runner) -> None:
        self._start_iter = runner.state.iter
        self._train_time_s = 0.0

    def before_train_epoch(self, runner: Runner) -> None:
        self._last["train"] = self.clock()

    def _before_eval_epoch(self, mode: str, loader_len: int | None) -> None:
        self._eval_len = loader_len
        self._last[mode] = self.clock()
        self._eval_time_s = 0.0
        self._eval_iters = 0

    def before_val_epoch(self, runner: Runner) -> None:
        self._before_eval_epoch("val", _len(runner.val_loop.dataloader))

    def before_test_epoch(self, runner: Runner) -> None:
        self._before_eval_epoch("test", _len(runner.test_loop.dataloader))

    def after_val(self, runner: Runner) -> None:
        # the next train iteration's data_time must not include the validation
        self._last["train"] = self.clock()

    def after_test(self, runner: Runner) -> None:
        self._last["train"] = self.clock()

    # --- iterations ------------------------------------------------------------------------------------
    def _before_iter(self, runner: Runner, mode: str) -> None:
        now = self.clock()
        runner.message_hub.update_scalar(_KEYS[mode][0], now - self._last.get(mode, now))

    def _after_iter(self, runner: Runner, mode: str) -> float:
        now = self.clock()
        elapsed = now - self._last.get(mode, now)
        self._last[mode] = now
        runner.message_hub.update_scalar(_KEYS[mode][1], elapsed)
        return elapsed

    def before_train_iter(self, runner: Runner, batch_idx: int, data_batch: DataBatch | None = None) -> None:
        self._before_iter(runner, "train")

    def after_train_iter(
        self,
        runner: Runner,
        batch_idx: int,
        data_batch: DataBatch | None = None,
        outputs: Mapping[str, object] | None = None,
    ) -> None:
        self._train_time_s += self._after_iter(runner, "train")
        state = runner.state
        done = state.iter - self._start_iter + 1  # state.iter is the 0-based index of this iteration
        remaining = max(runner.train_loop.max_iters - state.iter - 1, 0)
        runner.message_hub.update_info("eta", self._train_time_s / max(done, 1) * remaining)

    def _after_eval_iter(self, runner: Runner, mode: str, batch_idx: int) -> None:
        self._eval_time_s += self._after_iter(runner, mode)
        self._eval_iters += 1
        loader_len = self._eval_len
        if loader_len is not None:
            eta = self._eval_time_s / self._eval_iters * max(loader_len - batch_idx - 1, 0)
            runner.message_hub.update_info("eta", eta)

    def before_val_iter(self, runner: Runner, batch_idx: int, data_batch: DataBatch | None = None) -> None:
        self._before_iter(runner, "val")

    def after_val_iter(
        self,
        runner: Runner,
        batch_idx: int,
        data_batch: DataBatch | None = None,
        outputs: StepOutputs | None = None,
    ) -> None:
        self._after_eval_iter(runner, "val", batch_idx)

    def before_test_iter(self, runner: Runner, batch_idx: int, data_batch: DataBatch | None = None) -> None:
        self._before_iter(runner, "test")

    def after_test_iter(
        self,
        runner: Runner,
        batch_idx: int,
        data_batch: DataBatch | None = None,
        outputs: StepOutputs | None = None,
    ) -> None:
        self._after_eval_iter(runner, "test", batch_idx)


def _len(loader: object) -> int | None:
    """``len(loader)``, or None for loaders without a length (iterable datasets)."""
    try:
        return len(loader)  # type: ignore[arg-type]  # checked at run time: loaders may lack __len__
    except TypeError:
        return None


class IterTimerHookConfig(Config):
    """Measures time, data_time and eta (``default_hooks.timer``); no settings."""

    type: Tag[Literal["timer"]] = "timer"

    def build(self) -> IterTimerHook:
        """The hook."""
        return IterTimerHook()
