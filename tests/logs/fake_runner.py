"""A minimal stand-in for the Runner (the attributes log/hook code reads) and a loop driver that calls hooks
in the order typedengine's loops do. Used by tests/hooks to run hooks with a fixed clock.

It re-implements the hook order (issue 18); new log tests use :mod:`tests.logs.runner_harness`, which
drives the real Runner. This stays until the hook tests that use it move over (each needs its own rewrite:
they swap in fake optimizer wrappers and step outputs)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from typedengine.hooks.hook import Hook
from typedengine.hooks.priority import get_priority
from typedengine.logs.backends.local import LocalBackend
from typedengine.logs.console import create_logger
from typedengine.logs.history import MessageHub
from typedengine.logs.processor import LogProcessor
from typedengine.logs.visualizer import Visualizer
from typedengine.runner.schedule import RunSchedule
from typedengine.runner.state import RunState


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class FakeLoop:
    dataloader: list[object]
    max_epochs: int = 1
    max_iters: int = 0
    by_epoch: bool = True
    stop_training: bool = False

    @property
    def schedule(self) -> RunSchedule:
        """The run schedule hooks ask for cadences (as a real loop's)."""
        if self.by_epoch:
            length = len(self.dataloader)
            return RunSchedule(by_epoch=True, run_length=self.max_epochs, iters_per_epoch=length)
        return RunSchedule(by_epoch=False, run_length=self.max_iters)


@dataclass
class FakeOptimWrapper:
    lr: float = 1e-3
    scalars: dict[str, torch.Tensor] = field(default_factory=dict)

    def get_lr(self) -> dict[str, list[float]]:
        return {"lr": [self.lr]}

    def log_scalars(self) -> dict[str, torch.Tensor]:
        return dict(self.scalars)


class FakeRunner:
    def __init__(
        self,
        tmp_path: Path,
        *,
        train_len: int = 20,
        val_len: int = 4,
        max_epochs: int = 2,
        by_epoch: bool = True,
        max_iters: int | None = None,
        processor: LogProcessor | None = None,
        model: nn.Module | None = None,
    ) -> None:
        self.state = RunState()
        self.message_hub = MessageHub()
        self.log_processor = processor or LogProcessor()
        self.log_dir = tmp_path / "20260101_000000"
        self.work_dir = tmp_path
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.logger = create_logger(f"test{id(self)}", log_file=self.log_dir / "run.log", rank=0)
        self.lines: list[str] = []
        self.logger.addHandler(_ListHandler(self.lines))
        self.visualizer = Visualizer([LocalBackend(self.log_dir)], rank=0)
        iters = max_iters if max_iters is not None else train_len * max_epochs
        self.train_loop = FakeLoop(list(range(train_len)), max_epochs if by_epoch else 1, iters, by_epoch)
        self.val_loop = FakeLoop(list(range(val_len)))
        self.test_loop = FakeLoop(list(range(val_len)))
        self.optim_wrapper: FakeOptimWrapper | None = FakeOptimWrapper()
        self.device = torch.device("cpu")
        self.rank = 0
        self.world_size = 1
        self.seed = 0
        self.experiment_name = "exp_20260101_000000"
        self.config = None
        self.unwrapped_model = model if model is not None else nn.Linear(2, 2)
        self.model = self.unwrapped_model
        self.hooks: list[Hook] = []

    def register_hook(self, hook: Hook) -> None:
        self.hooks.append(hook)
        self.hooks.sort(key=lambda h: get_priority(h.priority))

    def call_hook(self, name: str, **kwargs: object) -> None:
        for hook in self.hooks:
            getattr(hook, name)(self, **kwargs)


class _ListHandler(logging.Handler):
    def __init__(self, lines: list[str]) -> None:
        super().__init__()
        self.lines = lines

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


StepFn = Callable[[FakeRunner, int], Mapping[str, object]]
"""(runner, batch_idx) -> step outputs; may advance the clock."""


def run_val(
    runner: FakeRunner,
    clock: FakeClock,
    metrics: Mapping[str, float],
    *,
    mode: str = "val",
    iter_s: float = 0.01,
    data_s: float = 0.0,
) -> None:
    loop = runner.val_loop if mode == "val" else runner.test_loop
    runner.state.phase = mode
    runner.call_hook(f"before_{mode}")
    runner.call_hook(f"before_{mode}_epoch")
    for idx, batch in enumerate(loop.dataloader):
        clock.advance(data_s)
        runner.call_hook(f"before_{mode}_iter", batch_idx=idx, data_batch=batch)
        clock.advance(iter_s - data_s)
        runner.call_hook(f"after_{mode}_iter", batch_idx=idx, data_batch=batch, outputs=None)
    runner.call_hook(f"after_{mode}_epoch", metrics=dict(metrics))
    runner.call_hook(f"after_{mode}")


def run_train(
    runner: FakeRunner,
    clock: FakeClock,
    step: StepFn,
    *,
    iter_s: float = 0.1,
    data_s: float = 0.01,
    val_metrics: Callable[[int], Mapping[str, float]] | None = None,
) -> None:
    """Epoch-based training as EpochBasedTrainLoop runs it (val after every epoch when val_metrics is set)."""
    state, loop = runner.state, runner.train_loop
    state.max_epochs, state.max_iters = loop.max_epochs, loop.max_iters
    runner.call_hook("before_run")
    runner.call_hook("before_train")
    while state.epoch < loop.max_epochs and not loop.stop_training:
        state.phase = "train"
        runner.call_hook("before_train_epoch")
        for idx, batch in enumerate(loop.dataloader):
            clock.advance(data_s)
            runner.call_hook("before_train_iter", batch_idx=idx, data_batch=batch)
            clock.advance(iter_s - data_s)
            outputs = step(runner, idx)
            runner.call_hook("after_train_iter", batch_idx=idx, data_batch=batch, outputs=outputs)
            state.iter += 1
            state.inner_iter += 1
        runner.call_hook("after_train_epoch")
        state.epoch += 1
        state.inner_iter = 0
        if val_metrics is not None:
            run_val(runner, clock, val_metrics(state.epoch))
    runner.call_hook("after_train")
    runner.call_hook("after_run")


def run_train_iters(
    runner: FakeRunner,
    clock: FakeClock,
    step: StepFn,
    *,
    iter_s: float = 0.1,
    data_s: float = 0.01,
    val_every: int = 0,
    val_metrics: Callable[[int], Mapping[str, float]] | None = None,
) -> None:
    """Iteration-based training as IterBasedTrainLoop runs it."""
    state, loop = runner.state, runner.train_loop
    state.max_epochs, state.max_iters = 1, loop.max_iters
    runner.call_hook("before_run")
    runner.call_hook("before_train")
    runner.call_hook("before_train_epoch")
    while state.iter < loop.max_iters and not loop.stop_training:
        state.phase = "train"
        clock.advance(data_s)
        runner.call_hook("before_train_iter", batch_idx=state.iter, data_batch=None)
        clock.advance(iter_s - data_s)
        outputs = step(runner, state.iter)
        runner.call_hook("after_train_iter", batch_idx=state.iter, data_batch=None, outputs=outputs)
        state.iter += 1
        state.inner_iter += 1
        if val_every and state.iter % val_every == 0 and val_metrics is not None:
            run_val(runner, clock, val_metrics(state.iter))
    runner.call_hook("after_train_epoch")
    runner.call_hook("after_train")
    runner.call_hook("after_run")


def losses(values: Iterable[float]) -> StepFn:
    seq = list(values)

    def step(runner: FakeRunner, idx: int) -> Mapping[str, object]:
        return {"loss": torch.tensor(seq[runner.state.iter])}

    return step
