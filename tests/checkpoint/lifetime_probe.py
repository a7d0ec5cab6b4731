"""A tiny run that sends itself SIGTERM at one moment of its life: :func:`run` in-process, or
``python -m tests.checkpoint.lifetime_probe MODE WORK_DIR``, which writes ``<WORK_DIR>/../report.json``
(iterations done, files) when it gets to the end.

Modes: ``model`` (while the model is built, in ``Runner.__init__``), ``data`` (while the train dataset is
built, in ``train()`` before the first iteration), ``final-val`` (during the validation after the last
iteration), ``after-run`` (in an ``after_run`` hook), ``close`` (while ``Runner.close`` closes the
visualizer), ``join`` (prints READY, then waits to join a world of 2 whose peer never comes: the test
sends the signal).
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset

import typedengine as te
from tests.conftest import TinyMLP, make_data
from typedengine.hooks.checkpoint import CheckpointHookConfig
from typedengine.hooks.choices import DefaultHooksConfig
from typedengine.hooks.logger import LoggerHookConfig
from typedengine.logs.visualizer import Visualizer


def _term() -> None:
    os.kill(os.getpid(), signal.SIGTERM)


class _TermModel(te.ModelConfig):
    """Built inside Runner.__init__: the handler only sets a flag, building goes on, the run stops at the
    next safe point."""

    def build(self) -> TinyMLP:
        _term()
        return TinyMLP()


class _TermData(Dataset[tuple[torch.Tensor, torch.Tensor]]):
    def __init__(self) -> None:
        self.data = make_data(n=16)
        self.signalled = False

    def __len__(self) -> int:
        if not self.signalled:  # the runner asks for the length while it builds the loop
            self.signalled = True
            _term()
        return len(self.data)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.data[i]  # type: ignore[no-any-return]


class _TermAt(te.Hook):
    priority = "lowest"

    def __init__(self, mode: str) -> None:
        self.mode = mode

    def after_val_epoch(self, runner, metrics=None):  # type: ignore[no-untyped-def,override]
        if self.mode == "final-val" and runner.state.iter == runner.train_loop.max_iters:
            _term()

    def after_run(self, runner):  # type: ignore[no-untyped-def,override]
        if self.mode == "after-run":
            _term()


class _TermOnClose(Visualizer):
    def close(self) -> None:
        _term()
        super().close()


def run(mode: str, work_dir: Path) -> dict[str, object]:
    """Train 2 epochs of 4 iterations, signalling at ``mode``'s moment; the iterations done and the files."""
    model: te.ModelConfig | TinyMLP = _TermModel() if mode == "model" else TinyMLP()
    if mode == "join":
        os.environ.update({"RANK": "0", "WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1", "LOCAL_RANK": "0"})
        print("READY", flush=True)
    train: Dataset[object] = _TermData() if mode == "data" else make_data(n=16)  # type: ignore[assignment]
    runner = te.Runner(
        model=model,
        work_dir=work_dir,
        launcher="pytorch" if mode == "join" else "none",
        env=te.EnvConfig(device="cpu"),
        train_dataloader=DataLoader(train, batch_size=4),
        train=te.EpochBasedTrainLoopConfig(max_epochs=2),
        optim_wrapper=te.OptimWrapperConfig(optimizer=te.SGDConfig(lr=0.1)),
        val_dataloader=DataLoader(make_data(n=8, seed=2), batch_size=4),
        val_evaluator=te.Accuracy(),
        default_hooks=DefaultHooksConfig(
            checkpoint=CheckpointHookConfig(interval=1), logger=LoggerHookConfig(progress=False)
        ),
        custom_hooks=[_TermAt(mode)],
        visualizer=_TermOnClose([], rank=0) if mode == "close" else None,
    )
    with runner:
        runner.train()
        iters = runner.state.iter
    return {"iters": iters, "files": sorted(p.name for p in work_dir.iterdir() if p.is_file())}


if __name__ == "__main__":
    work = Path(sys.argv[2])
    (work.parent / "report.json").write_text(json.dumps(run(sys.argv[1], work)))
