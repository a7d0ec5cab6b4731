"""LoggerHook: log lines every ``interval_iters``, scalars to the visualizer, progress bars on a terminal.

* Train: a line every ``interval_iters`` iterations (counted inside the epoch for epoch-based loops, globally
  for iteration-based ones). With ``ignore_last`` the partial last window of an epoch is not logged unless
  the epoch is no longer than one interval. The logged scalars go to the visualizer at
  ``step`` = the global iteration (1-based), with ``epoch`` (epoch-based runs only) and ``iter``.
* Val/test: an iteration line (eta, time, data_time) every ``interval_iters`` batches and the metrics line
  at the end of the epoch (``Epoch(val) [1][313/313]    accuracy: 35.7000  data_time: …  time: …``); the
  metrics go to the visualizer with ``mode="val"``/``"test"`` at the current training iteration. Every
  line has MMEngine's exact shape (see :mod:`typedengine.logs.processor`).
* ``after_run`` closes the visualizer (backends reopen lazily if the runner runs another phase).
* ``progress``: rich bars per phase on rank 0 when stdout is a terminal. While a bar shows, iteration lines go
  to the text log only and the bar shows the latest losses and lr (printing a line under a live display costs
  milliseconds); epoch lines (metrics) are printed either way. Without a terminal, or with
  ``progress=False``, every line is printed as in MMEngine.

Reading the smoothed values syncs the device once per key at each log line, never per iteration.
*When* a train line is due is the train loop's :class:`~typedengine.runner.schedule.RunSchedule`'s answer
for this hook's :class:`~typedengine.runner.schedule.LogCadence` (``--plan`` asks the same).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from ..config.base import Config, Tag
from ..logs.console import log_info
from ..logs.processor import LogPosition
from ..logs.progress import PhaseProgress, stdout_is_terminal
from ..runner.schedule import LogCadence
from .hook import Hook
from .priority import Priority

if TYPE_CHECKING:
    from ..batches import DataBatch, StepOutputs
    from ..runner.runner import Runner
    from ..runner.schedule import RunSchedule

__all__ = ["LoggerHook", "LoggerHookConfig"]

EvalMode = Literal["val", "test"]


def _len(loader: object) -> int | None:
    try:
        return len(loader)  # type: ignore[arg-type]  # checked at run time: loaders may lack __len__
    except TypeError:
        return None


def _max_memory_mb(runner: Runner) -> int | None:
    """Peak CUDA memory allocated since the last call, in MB; None off CUDA."""
    device = runner.device
    if device.type != "cuda":
        return None
    import torch

    mb = int(torch.cuda.max_memory_allocated(device) // (1024 * 1024))
    torch.cuda.reset_peak_memory_stats(device)
    return mb


def _status(tag: Mapping[str, float]) -> str:
    """Short text for the progress bar: losses and lr (the full line goes to the text log)."""
    parts = [
        f"{k} {v:.3e}" if k.endswith("lr") else f"{k} {v:.4f}"
        for k, v in tag.items()
        if "loss" in k or k.endswith("lr")
    ]
    return "  ".join(parts)


class LoggerHook(Hook):
    """Writes MMEngine-format lines through ``runner.logger`` and scalars to ``runner.visualizer``.

    Example::

        runner.register_hook(LoggerHook(interval_iters=50, progress=False))
    """

    priority = Priority.BELOW_NORMAL

    def __init__(
        self,
        *,
        interval_iters: int = 10,
        ignore_last: bool = True,
        interval_exp_name_iters: int = 1000,
        progress: bool = True,
        progress_refresh_per_second: float = 4.0,
    ) -> None:
        if interval_iters < 1:
            raise ValueError(f"interval_iters must be >= 1, got {interval_iters}")
        self.interval_iters = interval_iters
        self.ignore_last = ignore_last
        self.cadence = LogCadence(interval_iters=interval_iters, ignore_last=ignore_last)
        """When train lines are due; the run's schedule applies it."""
        self.interval_exp_name_iters = interval_exp_name_iters
        self.progress = progress
        self.progress_refresh_per_second = progress_refresh_per_second
        self._bars = PhaseProgress(enabled=False)
        self._train_task = -1
        self._eval_task = -1
        self._training = False
        self._train_by_epoch: bool | None = None
        self._schedule: RunSchedule | None = None
        self._train_len: int | None = None
        self._eval_len: int | None = None
        self._eval_done = 0  # batches of the running val/test epoch (the window of its time means)

    # --- run -------------------------------------------------------------------------------------------
    def before_run(self, runner: Runner) -> None:
        enabled = self.progress and runner.rank == 0 and stdout_is_terminal()
        self._bars = PhaseProgress(enabled=enabled, refresh_per_second=self.progress_refresh_per_second)

    def after_run(self, runner: Runner) -> None:
        self._bars.close()
        runner.visualizer.close()

    # --- train -----------------------------------------------------------------------------------------
    def before_train(self, runner: Runner) -> None:
        self._training = True
        self._schedule = runner.train_loop.schedule
        self._train_by_epoch = self._schedule.by_epoch

    def after_train(self, runner: Runner) -> None:
        self._training = False

    def before_train_epoch(self, runner: Runner) -> None:
        state, loop = runner.state, runner.train_loop
        self._train_len = _len(loop.dataloader) if self._train_by_epoch else None
        if self._train_by_epoch:
            desc = f"Epoch {state.epoch + 1}/{loop.max_epochs}"
            self._train_task = self._bars.add(desc, self._train_len, completed=state.inner_iter)
        else:
            self._train_task = self._bars.add("Train", loop.max_iters, completed=state.iter)

    def after_train_epoch(self, runner: Runner) -> None:
        self._bars.remove(self._train_task)
        self._train_task = -1
        log_info(runner.logger, f"Exp name: {runner.experiment_name}")

    def _run_schedule(self, runner: Runner) -> RunSchedule:
        if self._schedule is None:  # driven without before_train (e.g. by hand)
            self._schedule = runner.train_loop.schedule
        return self._schedule

    def _run_length(self) -> tuple[int, int]:
        """(max_epochs, max_iters) of the training run for log positions; zeros outside training."""
        schedule = self._schedule
        if schedule is None:
            return 0, 0
        return schedule.max_epochs, schedule.max_iters or 0

    def after_train_iter(
        self,
        runner: Runner,
        batch_idx: int,
        data_batch: DataBatch | None = None,
        outputs: Mapping[str, object] | None = None,
    ) -> None:
        if self._bars.enabled:
            self._bars.advance(self._train_task)
        state = runner.state
        done_iters = state.iter + 1  # state.iter is the 0-based index of this iteration here
        if self.interval_exp_name_iters > 0 and done_iters % self.interval_exp_name_iters == 0:
            log_info(runner.logger, f"Exp name: {runner.experiment_name}")
        loader_len = self._train_len
        if not self._run_schedule(runner).logs_after_iter(done_iters, state.inner_iter + 1, self.cadence):
            return
        max_epochs, max_iters = self._run_length()
        pos = LogPosition(
            "train",
            batch_idx,
            loader_len,
            epoch=state.epoch + 1,
            iter=done_iters,
            max_epochs=max_epochs,
            max_iters=max_iters,
            train_by_epoch=self._train_by_epoch,
        )
        tag, line = runner.log_processor.iter_log(runner.message_hub, pos, memory_mb=_max_memory_mb(runner))
        self._log_iter_line(runner, self._train_task, line, tag)
        epoch = state.epoch + 1 if self._train_by_epoch else None  # an iteration-based run has no epochs
        runner.visualizer.add_scalars(tag, step=done_iters, epoch=epoch, iter=done_iters, mode="train")

    def _log_iter_line(self, runner: Runner, task: int, line: str, tag: Mapping[str, float]) -> None:
        """An iteration line: to the console and file, or, while a bar shows the values, to the file only."""
        if self._bars.enabled and task >= 0:
            log_info(runner.logger, line, console=False)
            self._bars.set_status(task, _status(tag))
        else:
            log_info(runner.logger, line)

    # --- val / test ------------------------------------------------------------------------------------
    def _eval_loader_len(self, runner: Runner, mode: EvalMode) -> int | None:
        loop = runner.val_loop if mode == "val" else runner.test_loop
        return _len(loop.dataloader)

    def _position(
        self, runner: Runner, mode: EvalMode, batch_idx: int, loader_len: int | None
    ) -> LogPosition:
        state = runner.state
        max_epochs, max_iters = self._run_length()
        return LogPosition(
            mode,
            batch_idx,
            loader_len,
            epoch=state.epoch,
            iter=state.iter,
            max_epochs=max_epochs,
            max_iters=max_iters,
            # None in a val()/test() run without training: MMEngine's epoch-0 / epoch-style lines
            train_by_epoch=self._train_by_epoch,
        )

    def _before_eval_epoch(self, runner: Runner, mode: EvalMode) -> None:
        self._eval_len = self._eval_loader_len(runner, mode)
        self._eval_done = 0
        self._eval_task = self._bars.add(mode.capitalize(), self._eval_len)

    def _after_eval_iter(self, runner: Runner, mode: EvalMode, batch_idx: int) -> None:
        self._bars.advance(self._eval_task)
        self._eval_done = batch_idx + 1
        if (batch_idx + 1) % self.interval_iters != 0:
            return
        pos = self._position(runner, mode, batch_idx, self._eval_len)
        tag, line = runner.log_processor.iter_log(runner.message_hub, pos, memory_mb=_max_memory_mb(runner))
        self._log_iter_line(runner, self._eval_task, line, tag)

    def _after_eval_epoch(self, runner: Runner, mode: EvalMode, metrics: Mapping[str, float] | None) -> None:
        self._bars.remove(self._eval_task)
        self._eval_task = -1
        pos = self._position(runner, mode, max(self._eval_done - 1, 0), self._eval_len)
        tag, line = runner.log_processor.epoch_log(runner.message_hub, pos, metrics or {})
        log_info(runner.logger, line)
        state = runner.state
        # metrics only (the timings are in the line), as MMEngine's log_metric_by_epoch does
        scalars = {k: v for k, v in tag.items() if k not in ("time", "data_time")}
        epoch = state.epoch if self._train_by_epoch is not False else None
        runner.visualizer.add_scalars(scalars, step=state.iter, epoch=epoch, iter=state.iter, mode=mode)

    def before_val_epoch(self, runner: Runner) -> None:
        self._before_eval_epoch(runner, "val")

    def after_val_iter(
        self,
        runner: Runner,
        batch_idx: int,
        data_batch: DataBatch | None = None,
        outputs: StepOutputs | None = None,
    ) -> None:
        self._after_eval_iter(runner, "val", batch_idx)

    def after_val_epoch(self, runner: Runner, metrics: Mapping[str, float] | None = None) -> None:
        self._after_eval_epoch(runner, "val", metrics)

    def before_test_epoch(self, runner: Runner) -> None:
        self._before_eval_epoch(runner, "test")

    def after_test_iter(
        self,
        runner: Runner,
        batch_idx: int,
        data_batch: DataBatch | None = None,
        outputs: StepOutputs | None = None,
    ) -> None:
        self._after_eval_iter(runner, "test", batch_idx)

    def after_test_epoch(self, runner: Runner, metrics: Mapping[str, float] | None = None) -> None:
        self._after_eval_epoch(runner, "test", metrics)


class LoggerHookConfig(Config):
    """Log lines, visualizer scalars and progress bars (``default_hooks.logger``).

    Example: ``--default-hooks.logger.interval-iters 50 --default-hooks.logger.no-progress``.
    """

    type: Tag[Literal["logger"]] = "logger"
    interval_iters: int = Field(10, ge=1, description="Iterations between log lines.")
    ignore_last: bool = Field(
        True,
        description="Skip the partial last window of an epoch (unless the epoch is shorter than one interval).",
    )
    interval_exp_name_iters: int = Field(
        1000,
        ge=0,
        description="Iterations between 'Exp name: ...' lines (also at each epoch end); 0 = only there.",
    )
    progress: bool = Field(
        True, description="Rich progress bars on a terminal (rank 0); plain lines otherwise."
    )
    progress_refresh_per_second: float = Field(
        4.0, gt=0, le=30, description="Progress bar refresh rate limit."
    )

    def build(self) -> LoggerHook:
        """The hook."""
        return LoggerHook(
            interval_iters=self.interval_iters,
            ignore_last=self.ignore_last,
            interval_exp_name_iters=self.interval_exp_name_iters,
            progress=self.progress,
            progress_refresh_per_second=self.progress_refresh_per_second,
        )
