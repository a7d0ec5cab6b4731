"""A small, real training run used by the resume tests, in-process or as a subprocess.

``python -m tests.checkpoint.harness SPEC_JSON`` trains the run described by :class:`Spec` and writes the
final model weights to ``<work_dir>/final.pt``. Faults are injected from the spec:

* ``kill_at_iter``: SIGKILL this process right after that (1-based) iteration's hooks ran;
* ``kill_in_save``: SIGKILL this process in the middle of writing the N-th checkpoint file (1-based),
  after ``kill_after_bytes`` bytes of it are on disk;
* ``signal_at_iter`` + ``signal_name``: send that signal to this process during that iteration.

Other keys: ``epoch_loop`` (else iteration-based), ``max_epochs``/``max_iters``, ``interval`` and
``hook_by_epoch`` (checkpoint cadence), ``max_keep``, ``accumulate``, ``val`` (validate every epoch /
10 iterations and keep the best accuracy checkpoint), ``resume``, ``fsdp`` (shard every Linear with FSDP2).

The model has dropout, the data is shuffled, SGD with momentum, a per-iteration LR schedule and gradient
accumulation: everything a resume must restore for the final weights to be bit-identical.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Mapping
from contextlib import contextmanager
from pathlib import Path

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn
from torch.utils.data import TensorDataset

import typedengine as te
from typedengine.checkpoint import io as ckpt_io
from typedengine.evaluation.accuracy import AccuracyConfig
from typedengine.evaluation.evaluator import EvaluatorConfig
from typedengine.hooks.checkpoint import CheckpointHookConfig
from typedengine.hooks.choices import DefaultHooksConfig
from typedengine.loops.choices import TrainLoopConfig
from typedengine.model.fsdp import FSDPConfig
from typedengine.model.wrapping import DDPConfig
from typedengine.optim.choices import OptimWrapperUnion
from typedengine.optim.optimizers import SGDConfig
from typedengine.optim.schedulers.choices import ParamSchedulerConfig
from typedengine.optim.schedulers.linear import LinearSchedulerConfig
from typedengine.optim.wrapper import OptimWrapperConfig


class DropoutMLP(te.BaseModel):
    def __init__(self, width: int, dropout: float) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(8, width), nn.ReLU(), nn.Dropout(dropout), nn.Linear(width, 3))

    def forward(self, x: torch.Tensor, y: torch.Tensor, mode: str = "tensor") -> object:  # type: ignore[override]
        logits = self.net(x)
        if mode == "loss":
            return {"loss": F.cross_entropy(logits, y)}
        if mode == "predict":
            return logits, y
        return logits


class DropoutMLPConfig(te.ModelConfig):
    width: int = Field(16, description="Hidden width.")
    dropout: float = Field(0.3, description="Dropout probability.")

    def build(self) -> DropoutMLP:
        return DropoutMLP(self.width, self.dropout)


class ToyData(te.DatasetConfig):
    n: int = Field(50, description="Samples.")

    def build(self) -> TensorDataset:
        g = torch.Generator().manual_seed(3)
        x = torch.randn(self.n, 8, generator=g)
        y = (x[:, :3] * torch.tensor([1.0, -2.0, 0.5])).argmax(1)
        return TensorDataset(x, y)

    def declared_length(self) -> int:
        return self.n


class ToyExperiment(te.RunnerConfig):
    model: DropoutMLPConfig = DropoutMLPConfig()
    train_dataloader: te.DataLoaderConfig[ToyData] | None = te.DataLoaderConfig[ToyData](
        dataset=ToyData(), batch_size=4
    )
    train: TrainLoopConfig | None = te.EpochBasedTrainLoopConfig(max_epochs=3)
    optim_wrapper: OptimWrapperUnion | None = OptimWrapperConfig(
        optimizer=SGDConfig(lr=0.1, momentum=0.9), accumulative_counts=3
    )
    param_scheduler: tuple[ParamSchedulerConfig, ...] = (
        LinearSchedulerConfig(start_factor=0.2, by_epoch=False, begin=0, end=17),
    )
    randomness: te.RandomnessConfig = te.RandomnessConfig(seed=11)


def experiment(spec: Mapping[str, object]) -> ToyExperiment:
    """The experiment config for a spec dict (see :func:`main` for the keys)."""
    by_epoch_loop = bool(spec.get("epoch_loop", True))
    train: TrainLoopConfig = (
        te.EpochBasedTrainLoopConfig(max_epochs=int(spec.get("max_epochs", 3)))  # type: ignore[call-overload]
        if by_epoch_loop
        else te.IterBasedTrainLoopConfig(max_iters=int(spec.get("max_iters", 40)))  # type: ignore[call-overload]
    )
    validate = bool(spec.get("val", False))
    hook = CheckpointHookConfig(
        interval=int(spec.get("interval", 2)),  # type: ignore[call-overload]
        by_epoch=bool(spec.get("hook_by_epoch", False)),
        max_keep_ckpts=int(spec.get("max_keep", -1)),  # type: ignore[call-overload]
        save_best=("accuracy",) if validate else (),
    )
    val_loader = te.DataLoaderConfig[ToyData](dataset=ToyData(n=20), batch_size=8, shuffle=False)
    return ToyExperiment(
        work_dir=Path(str(spec["work_dir"])),
        train=train,
        val_dataloader=val_loader if validate else None,
        val_evaluator=EvaluatorConfig[AccuracyConfig](metrics=(AccuracyConfig(),)) if validate else None,
        default_hooks=DefaultHooksConfig(checkpoint=hook),
        resume=bool(spec.get("resume", False)),
        model_wrapper=FSDPConfig(shard_modules=("Linear",)) if spec.get("fsdp") else DDPConfig(),
        optim_wrapper=OptimWrapperConfig(
            optimizer=SGDConfig(lr=0.1, momentum=0.9),
            accumulative_counts=int(spec.get("accumulate", 3)),  # type: ignore[call-overload]
        ),
    )


class FaultHook(te.Hook):
    """Injects the faults of a spec (lowest priority: runs after the checkpoint hook)."""

    priority = "lowest"

    def __init__(self, kill_at_iter: int | None, signal_at_iter: int | None, signal_name: str) -> None:
        self.kill_at_iter = kill_at_iter
        self.signal_at_iter = signal_at_iter
        self.signal_name = signal_name

    def before_train_iter(self, runner, batch_idx, data_batch=None):  # type: ignore[no-untyped-def]
        if self.signal_at_iter is not None and runner.state.iter + 1 == self.signal_at_iter:
            os.kill(os.getpid(), getattr(signal, self.signal_name))

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):  # type: ignore[no-untyped-def]
        if self.kill_at_iter is not None and runner.state.iter + 1 == self.kill_at_iter:
            os.kill(os.getpid(), signal.SIGKILL)


def kill_during_save(nth_save: int, after_bytes: int) -> None:
    """SIGKILL this process once ``after_bytes`` of the ``nth_save``-th checkpoint file are written.

    Counts the atomic files opened for checkpoints (not the pointer), however the bytes were produced.
    """
    original_write, original_atomic = ckpt_io._write_all, ckpt_io._atomic_file
    state = {"saves": 0, "bytes": 0, "active": False}

    @contextmanager
    def counting_atomic(path, *, durable):  # type: ignore[no-untyped-def]
        counted = path.name != ckpt_io.LAST_CHECKPOINT
        if counted:
            state["saves"] += 1
            state["bytes"] = 0
        with original_atomic(path, durable=durable) as f:
            state["active"] = counted and state["saves"] == nth_save
            try:
                yield f
            finally:
                state["active"] = False

    def write_all(f, view):  # type: ignore[no-untyped-def]
        if state["active"]:
            state["bytes"] += view.nbytes
            if state["bytes"] >= after_bytes:
                original_write(f, view[: max(0, view.nbytes - (state["bytes"] - after_bytes))])
                os.fsync(f.fileno())
                os.kill(os.getpid(), signal.SIGKILL)
        original_write(f, view)

    ckpt_io._atomic_file = counting_atomic
    ckpt_io._write_all = write_all


def run(spec: Mapping[str, object]) -> dict[str, torch.Tensor]:
    """Train per ``spec``; return (and save to work_dir/final.pt) the final weights."""
    torch.set_num_threads(1)
    if spec.get("kill_in_save"):
        kill_during_save(int(spec["kill_in_save"]), int(spec.get("kill_after_bytes", 2000)))  # type: ignore[call-overload]
    cfg = experiment(spec)
    runner = te.Runner.from_config(cfg)
    kill = spec.get("kill_at_iter")
    sig = spec.get("signal_at_iter")
    runner.register_hook(
        FaultHook(
            int(kill) if isinstance(kill, int) else None,
            int(sig) if isinstance(sig, int) else None,
            str(spec.get("signal_name", "SIGTERM")),
        )
    )
    runner.train()
    weights = {k: v.detach().clone() for k, v in runner.unwrapped_model.state_dict().items()}
    torch.save(weights, Path(str(spec["work_dir"])) / "final.pt")
    return weights


def main() -> None:
    spec = json.loads(sys.argv[1])
    run(spec)


if __name__ == "__main__":
    main()
