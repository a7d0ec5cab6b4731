"""A tiny real experiment for schedule and resume tests: its runs record what happened, per iteration.

:class:`ToyRun` is a RunnerConfig (a 16->4 linear classifier on synthetic data whose length is declared, so
``--plan`` knows it); :func:`train` builds a Runner from it, registers a :class:`Recorder` (the param
groups every iteration used, the iterations validation ran after) and optionally a hook that stops the
run after an iteration or an epoch (a kill right after the checkpoint hook ran), and returns what it
recorded with the run's logged scalar rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn
from torch.utils.data import TensorDataset

import typedengine as te
from typedengine.evaluation.accuracy import AccuracyConfig
from typedengine.evaluation.evaluator import EvaluatorConfig
from typedengine.loops.choices import TrainLoopConfig
from typedengine import OptimWrapperConfig, OptimWrapperUnion, ParamSchedulerConfig, SGDConfig


class Linear(te.BaseModel):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(16, 4)

    def forward(self, x: torch.Tensor, y: torch.Tensor, mode: str = "tensor") -> object:  # type: ignore[override]
        logits = self.fc(x)
        if mode == "loss":
            return {"loss": F.cross_entropy(logits, y)}
        if mode == "predict":
            return logits, y
        return logits


class LinearConfig(te.ModelConfig):
    def build(self) -> Linear:
        return Linear()


class Points(te.DatasetConfig):
    n: int = Field(22, description="Samples.")

    def build(self) -> TensorDataset:
        g = torch.Generator().manual_seed(5)
        x = torch.randn(self.n, 16, generator=g)
        return TensorDataset(x, (x[:, :4]).argmax(1))

    def declared_length(self) -> int:
        return self.n


class ToyRun(te.RunnerConfig):
    model: LinearConfig = LinearConfig()
    train_dataloader: te.DataLoaderConfig[Points] | None = te.DataLoaderConfig[Points](
        dataset=Points(), batch_size=4
    )
    val_dataloader: te.DataLoaderConfig[Points] | None = te.DataLoaderConfig[Points](
        dataset=Points(n=8), batch_size=8, shuffle=False
    )
    val_evaluator: EvaluatorConfig[AccuracyConfig] | None = EvaluatorConfig[AccuracyConfig](
        metrics=(AccuracyConfig(),)
    )
    train: TrainLoopConfig | None = te.EpochBasedTrainLoopConfig(max_epochs=4)
    optim_wrapper: OptimWrapperUnion | None = OptimWrapperConfig(optimizer=SGDConfig(lr=0.1, momentum=0.9))
    param_scheduler: tuple[ParamSchedulerConfig, ...] = ()
    randomness: te.RandomnessConfig = te.RandomnessConfig(seed=3)


class Stopped(Exception):
    """Raised by :class:`StopAfter` (stands in for a kill right after the checkpoint hook ran)."""


class StopAfter(te.Hook):
    """Stop after iteration ``iteration`` (1-based) or after epoch ``epoch`` (lowest priority: after the
    checkpoint hook has saved)."""

    priority = "lowest"

    def __init__(self, *, iteration: int | None = None, epoch: int | None = None) -> None:
        self.iteration, self.epoch = iteration, epoch

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):  # type: ignore[no-untyped-def]
        if self.iteration is not None and runner.state.iter + 1 == self.iteration:
            raise Stopped

    def after_train_epoch(self, runner):  # type: ignore[no-untyped-def]
        if self.epoch is not None and runner.state.epoch + 1 == self.epoch:
            raise Stopped


@dataclass
class Record:
    """What a run did: per iteration (global index) the param groups it used, the validation points."""

    groups: dict[int, list[dict[str, object]]] = field(default_factory=dict)
    val_iters: list[int] = field(default_factory=list)
    rows: list[dict[str, object]] = field(default_factory=list)
    state_before_first_step: dict[int, dict[str, torch.Tensor]] = field(default_factory=dict)
    log: str = ""
    final_iter: int = 0

    def lr(self) -> list[float]:
        return [float(self.groups[i][0]["lr"]) for i in sorted(self.groups)]  # type: ignore[arg-type]

    def merge(self, later: Record) -> Record:
        """This (stopped) run's events before ``later`` resumed, then ``later``'s."""
        start = min(later.groups) if later.groups else max(self.groups, default=-1) + 1
        merged = Record(
            groups={**{i: g for i, g in self.groups.items() if i < start}, **later.groups},
            val_iters=[v for v in self.val_iters if v < start] + later.val_iters,
            rows=[r for r in self.rows if int(r["step"]) <= start] + later.rows,  # type: ignore[call-overload]
        )
        return merged


class Recorder(te.Hook):
    """Records the param groups each iteration uses (before anything steps) and validation points."""

    priority = "highest"

    def __init__(self, record: Record) -> None:
        self.record = record

    def before_train_iter(self, runner, batch_idx, data_batch=None):  # type: ignore[no-untyped-def]
        groups = [{k: v for k, v in g.items() if k != "params"} for g in runner.optim_wrapper.param_groups]
        if not self.record.groups:
            saved = runner.optim_wrapper.optimizer.state_dict()["state"]  # keyed by parameter index
            self.record.state_before_first_step = {
                k: {n: t.clone() for n, t in v.items() if isinstance(t, torch.Tensor)}
                for k, v in saved.items()
            }
        self.record.groups[runner.state.iter] = groups

    def after_val_epoch(self, runner, metrics=None):  # type: ignore[no-untyped-def]
        self.record.val_iters.append(runner.state.iter)


def train(cfg: ToyRun, *, stop: StopAfter | None = None) -> Record:
    """Train ``cfg`` (until ``stop`` if given); return what the run recorded and its logged rows."""
    record = Record()
    runner = te.Runner.from_config(cfg)
    runner.register_hook(Recorder(record))
    if stop is not None:
        runner.register_hook(stop)
    try:
        with runner:
            runner.train()
    except Stopped:
        pass
    scalars = runner.log_dir / "scalars.jsonl"
    if scalars.exists():
        record.rows = [json.loads(line) for line in scalars.read_text().splitlines()]
    log = runner.log_dir / f"{runner.timestamp}.log"
    record.log = log.read_text() if log.exists() else ""
    record.final_iter = runner.state.iter
    return record


def checkpoint_names(work_dir: Path) -> list[str]:
    return sorted(p.name for p in work_dir.glob("*.pth"))
