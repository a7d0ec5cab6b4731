"""ProfilerHook: profile a few training iterations (or epochs) with ``torch.profiler``.

The profiler starts before training and steps after every iteration (``by_epoch=False``) or epoch; it stops
after ``profile_times`` steps. With a ``schedule`` (wait/warmup/active/repeat) only the active steps are
recorded. Traces go under ``runner.log_dir / out_subdir``:

* ``trace="chrome"``: ``trace_<step>.json`` files (open in https://ui.perfetto.dev or chrome://tracing);
* ``trace="tensorboard"``: TensorBoard profiler plugin files;
* ``trace="table"``: the ``key_averages()`` table in the text log.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from ..config.base import Config, Tag
from .hook import Hook
from .priority import Priority

if TYPE_CHECKING:
    from torch.profiler import profile

    from ..batches import DataBatch
    from ..runner.runner import Runner

__all__ = ["ProfilerHook", "ProfilerHookConfig", "ProfilerScheduleConfig"]

TraceKind = Literal["chrome", "tensorboard", "table"]


class ProfilerScheduleConfig(Config):
    """``torch.profiler.schedule``: skip ``wait`` steps, warm up ``warmup``, record ``active``; ``repeat`` cycles."""

    wait: int = Field(0, ge=0, description="Steps skipped at the start of each cycle.")
    warmup: int = Field(1, ge=0, description="Steps profiled but discarded (warm-up).")
    active: int = Field(3, ge=1, description="Steps recorded per cycle.")
    repeat: int = Field(1, ge=0, description="Cycles (0 = until profiling stops).")

    @property
    def steps(self) -> int:
        """Steps one full schedule takes (``repeat`` cycles, at least one)."""
        return (self.wait + self.warmup + self.active) * max(self.repeat, 1)


class ProfilerHook(Hook):
    """Runs ``torch.profiler.profile`` over the first ``profile_times`` steps of training (VERY_LOW)."""

    priority = Priority.VERY_LOW

    def __init__(
        self,
        *,
        by_epoch: bool = False,
        profile_times: int = 1,
        activity_with_cpu: bool = True,
        activity_with_cuda: bool = False,
        schedule: tuple[int, int, int, int] | None = None,
        trace: TraceKind = "chrome",
        out_subdir: str = "profiler",
        record_shapes: bool = False,
        profile_memory: bool = False,
        with_stack: bool = False,
        with_flops: bool = False,
    ) -> None:
        if profile_times < 1:
            raise ValueError(f"profile_times must be >= 1, got {profile_times}")
        if schedule is not None and profile_times < sum(schedule[:3]) * max(schedule[3], 1):
            raise ValueError(
                "profile_times must cover the whole schedule ((wait + warmup + active) * repeat)"
            )
        self.by_epoch = by_epoch
        self.profile_times = profile_times
        self.activity_with_cpu = activity_with_cpu
        self.activity_with_cuda = activity_with_cuda
        self.schedule = schedule
        self.trace = trace
        self.out_subdir = out_subdir
        self.record_shapes = record_shapes
        self.profile_memory = profile_memory
        self.with_stack = with_stack
        self.with_flops = with_flops
        self.out_dir: Path | None = None
        self._profiler: profile | None = None
        self._steps = 0
        self._runner: Runner | None = None

    def _on_trace_ready(self, prof: profile) -> None:
        if self.out_dir is None:  # set in before_train, before the profiler exists
            return
        if self.trace == "chrome":
            self.out_dir.mkdir(parents=True, exist_ok=True)
            prof.export_chrome_trace(str(self.out_dir / f"trace_{prof.step_num}.json"))
        elif self.trace == "table" and self._runner is not None:
            table = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=20)
            self._runner.logger.info("Profiler summary:\n" + table)

    def before_train(self, runner: Runner) -> None:
        import torch.profiler as tp

        self._runner = runner
        self.out_dir = runner.log_dir / self.out_subdir
        activities = []
        if self.activity_with_cpu:
            activities.append(tp.ProfilerActivity.CPU)
        if self.activity_with_cuda:
            activities.append(tp.ProfilerActivity.CUDA)
        on_ready = (
            tp.tensorboard_trace_handler(str(self.out_dir))
            if self.trace == "tensorboard"
            else self._on_trace_ready
        )
        schedule = None
        if self.schedule is not None:
            wait, warmup, active, repeat = self.schedule
            schedule = tp.schedule(wait=wait, warmup=warmup, active=active, repeat=repeat)
        self._profiler = tp.profile(
            activities=activities,
            schedule=schedule,  # None: record every step until stop()
            on_trace_ready=on_ready,
            record_shapes=self.record_shapes,
            profile_memory=self.profile_memory,
            with_stack=self.with_stack,
            with_flops=self.with_flops,
        )
        self._profiler.start()
        runner.logger.info(
            f"Profiling {self.profile_times} {'epochs' if self.by_epoch else 'iterations'} into {self.out_dir}"
        )

    def _step(self) -> None:
        if self._profiler is None:
            return
        self._profiler.step()
        self._steps += 1
        if self._steps >= self.profile_times:
            self._stop()

    def _stop(self) -> None:
        if self._profiler is not None:
            profiler, self._profiler = self._profiler, None
            profiler.stop()

    def after_train_iter(
        self,
        runner: Runner,
        batch_idx: int,
        data_batch: DataBatch | None = None,
        outputs: Mapping[str, object] | None = None,
    ) -> None:
        if not self.by_epoch:
            self._step()

    def after_train_epoch(self, runner: Runner) -> None:
        if self.by_epoch:
            self._step()

    def after_train(self, runner: Runner) -> None:
        self._stop()


class ProfilerHookConfig(Config):
    """Profile the first steps of training with torch.profiler (traces under ``<log_dir>/profiler``).

    Example: ``ProfilerHookConfig(profile_times=5, schedule=ProfilerScheduleConfig(wait=1, warmup=1, active=3))``.
    """

    type: Tag[Literal["profiler"]] = "profiler"
    by_epoch: bool = Field(False, description="Step the profiler per epoch instead of per iteration.")
    profile_times: int = Field(1, ge=1, description="Steps (iterations or epochs) to profile.")
    activity_with_cpu: bool = Field(True, description="Record CPU activity.")
    activity_with_cuda: bool = Field(False, description="Record CUDA kernels.")
    schedule: ProfilerScheduleConfig | None = Field(
        None, description="Wait/warmup/active schedule; None records all."
    )
    trace: TraceKind = Field(
        "chrome", description="chrome (JSON trace files), tensorboard (plugin files) or table (log)."
    )
    out_subdir: str = Field("profiler", min_length=1, description="Directory under the run's log dir.")
    record_shapes: bool = Field(False, description="Record operator input shapes.")
    profile_memory: bool = Field(False, description="Record tensor memory allocation.")
    with_stack: bool = Field(False, description="Record Python stacks (slow).")
    with_flops: bool = Field(False, description="Estimate FLOPs of matmul/conv operators.")

    @model_validator(mode="after")
    def _covers_schedule(self) -> ProfilerHookConfig:
        if self.schedule is not None and self.profile_times < self.schedule.steps:
            raise ValueError(
                f"profile_times ({self.profile_times}) must be >= (wait + warmup + active) * repeat "
                f"= {self.schedule.steps}"
            )
        return self

    def build(self) -> ProfilerHook:
        """The hook."""
        s = self.schedule
        return ProfilerHook(
            by_epoch=self.by_epoch,
            profile_times=self.profile_times,
            activity_with_cpu=self.activity_with_cpu,
            activity_with_cuda=self.activity_with_cuda,
            schedule=None if s is None else (s.wait, s.warmup, s.active, s.repeat),
            trace=self.trace,
            out_subdir=self.out_subdir,
            record_shapes=self.record_shapes,
            profile_memory=self.profile_memory,
            with_stack=self.with_stack,
            with_flops=self.with_flops,
        )
