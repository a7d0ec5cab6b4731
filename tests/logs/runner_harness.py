"""Real runs for log tests: a toy model and loaders driven by the real :class:`~typedengine.Runner`
(its loops decide the hook order, nothing here re-implements it), with the log lines captured.

The toy run is the one reference/mmengine.md §9.2 captured from MMEngine 0.10.7: 5 training batches per
epoch, 2 validation and 2 test batches, a metric with prefix ``toy``, gradient clipping by norm (so
``grad_norm`` is logged), outputs ``loss_cls`` and ``acc``, and the logger every 2 iterations.

Example::

    run = toy_run(tmp_path, max_epochs=2)
    run.runner.train()
    run.lines  # every message the run logged, in order
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import typedengine as te
from typedengine.evaluation.accuracy import Accuracy
from typedengine.hooks.checkpoint import CheckpointHookConfig
from typedengine.hooks.logger import LoggerHookConfig
from typedengine.optim.grad_clip import ClipGradNormConfig


class ToyClassifier(te.BaseModel):
    """A linear classifier returning ``loss_cls`` and ``acc`` (``acc`` is logged, not summed in ``loss``)."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 3)

    def forward(  # type: ignore[override]  # BaseModel's forward takes **kwargs
        self, x: torch.Tensor, y: torch.Tensor, mode: str = "tensor"
    ) -> object:
        logits = self.linear(x)
        if mode == "loss":
            return {"loss_cls": F.cross_entropy(logits, y), "acc": (logits.argmax(1) == y).float().mean()}
        if mode == "predict":
            return logits, y
        return logits


def _data(n: int, seed: int) -> TensorDataset:
    g = torch.Generator().manual_seed(seed)
    return TensorDataset(torch.randn(n, 4, generator=g), torch.randint(0, 3, (n,), generator=g))


class _Lines(logging.Handler):
    def __init__(self, lines: list[str]) -> None:
        super().__init__()
        self.lines = lines

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@dataclass
class ToyRun:
    runner: te.Runner
    lines: list[str] = field(default_factory=list)

    def kind(self, prefix: str) -> list[str]:
        """The captured lines starting with ``prefix`` (e.g. ``"Epoch(val)"``)."""
        return [line for line in self.lines if line.startswith(prefix)]


def toy_run(
    work_dir: Path,
    *,
    max_epochs: int = 2,
    max_iters: int | None = None,
    val_interval: int = 1,
    interval: int = 2,
) -> ToyRun:
    """The toy run (epoch-based, or iteration-based when ``max_iters`` is given), lines captured."""
    train: te.BaseTrainLoopConfig = (
        te.EpochBasedTrainLoopConfig(max_epochs=max_epochs, val_interval=val_interval)
        if max_iters is None
        else te.IterBasedTrainLoopConfig(max_iters=max_iters, val_interval=val_interval)
    )
    train_data = _data(20, 0)
    sampler = None if max_iters is None else te.InfiniteSampler(len(train_data), shuffle=False)
    runner = te.Runner(
        model=ToyClassifier(),
        work_dir=work_dir,
        train_dataloader=DataLoader(train_data, batch_size=4, sampler=sampler),
        val_dataloader=DataLoader(_data(8, 1), batch_size=4),
        test_dataloader=DataLoader(_data(8, 2), batch_size=4),
        train=train,
        optim_wrapper=te.OptimWrapperConfig(
            optimizer=te.SGDConfig(lr=0.1), clip_grad=ClipGradNormConfig(max_norm=10.0)
        ),
        val_evaluator=Accuracy(prefix="toy"),
        test_evaluator=Accuracy(prefix="toy"),
        default_hooks=te.DefaultHooksConfig(
            logger=LoggerHookConfig(interval_iters=interval, progress=False),
            # an iteration-based run saves by iterations (here: once, at the end)
            checkpoint=CheckpointHookConfig(by_epoch=max_iters is None, interval=1 if max_iters is None else max_iters),
        ),
    )
    run = ToyRun(runner)
    runner.logger.addHandler(_Lines(run.lines))
    return run
