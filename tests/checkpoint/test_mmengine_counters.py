"""Hooks see MMEngine's runner.epoch / runner.iter at a save; the checkpoint records completed counts."""

from __future__ import annotations

from pathlib import Path

import pytest
from torch.utils.data import DataLoader

import typedengine as te
from tests.conftest import TinyMLP, make_data
from typedengine.hooks.checkpoint import CheckpointHookConfig


class SaveRecorder(te.Hook):
    def __init__(self) -> None:
        self.seen: list[tuple[int, int, int, int, int, int]] = []

    def before_save_checkpoint(self, runner: te.Runner, checkpoint: dict[str, object]) -> None:
        meta, run_state = checkpoint["meta"], checkpoint["run_state"]
        assert isinstance(meta, dict) and isinstance(run_state, dict)
        self.seen.append(
            (
                runner.state.epoch,
                runner.state.iter,
                meta["epoch"],
                meta["iter"],
                run_state["epoch"],
                run_state["iter"],
            )
        )


@pytest.mark.parametrize("by_epoch", [True, False])
def test_before_save_checkpoint_sees_the_running_counters(tmp_path: Path, by_epoch: bool) -> None:
    rec = SaveRecorder()
    runner = te.Runner(
        model=TinyMLP(),
        work_dir=tmp_path,
        train_dataloader=DataLoader(make_data(n=16), batch_size=4),  # 4 iterations per epoch
        train=te.EpochBasedTrainLoopConfig(max_epochs=2),
        optim_wrapper=te.OptimWrapperConfig(optimizer=te.SGDConfig(lr=0.1)),
        default_hooks=te.DefaultHooksConfig(
            checkpoint=CheckpointHookConfig(interval=1 if by_epoch else 3, by_epoch=by_epoch, save_last=False)
        ),
        custom_hooks=[rec],
    )
    runner.train()
    runner.close()
    if by_epoch:
        # MMEngine: after_train_epoch of epoch e shows runner.epoch = e, runner.iter = iterations done;
        # its meta says epoch e + 1
        assert rec.seen == [(0, 4, 1, 4, 1, 4), (1, 8, 2, 8, 2, 8)]
    else:
        # MMEngine: after_train_iter of iteration i shows runner.iter = i; its meta says iter i + 1
        assert rec.seen == [(0, 2, 0, 3, 0, 3), (1, 5, 1, 6, 1, 6)]
    assert runner.state.epoch == 2 and runner.state.iter == 8
