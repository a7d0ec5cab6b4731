"""The runner calls hooks in MMEngine's exact order (reference/mmengine.md §2)."""

from __future__ import annotations

from pathlib import Path

from torch.utils.data import DataLoader

import typedengine as te
from tests.conftest import RecordingHook, TinyMLP, make_data


def test_hook_order_two_epochs_two_iters_val_each_epoch(tmp_path: Path) -> None:
    data = make_data(n=8)
    rec = RecordingHook()
    runner = te.Runner(
        model=TinyMLP(),
        work_dir=tmp_path,
        train_dataloader=DataLoader(data, batch_size=4),
        val_dataloader=DataLoader(data, batch_size=8),
        train=te.EpochBasedTrainLoopConfig(max_epochs=2, val_interval=1),
        optim_wrapper=te.OptimWrapperConfig(optimizer=te.SGDConfig(lr=0.1)),
        val_evaluator=te.Accuracy(),
        custom_hooks=[rec],
    )
    runner.train()
    train_epoch = lambda e, i: [
        ("before_train_epoch", e, i),
        ("before_train_iter", e, i),
        ("after_train_iter", e, i),
        ("before_train_iter", e, i + 1),
        ("after_train_iter", e, i + 1),
        # as MMEngine: the running epoch (the checkpoint itself records e + 1 epochs done)
        ("before_save_checkpoint", e, i + 2),
        ("after_train_epoch", e, i + 2),
        ("before_val", e + 1, i + 2),
        ("before_val_epoch", e + 1, i + 2),
        ("before_val_iter", e + 1, i + 2),
        ("after_val_iter", e + 1, i + 2),
        ("after_val_epoch", e + 1, i + 2),
        ("after_val", e + 1, i + 2),
    ]
    expected = [
        ("before_run", 0, 0),
        ("before_train", 0, 0),
        *train_epoch(0, 0),
        *train_epoch(1, 2),
        ("after_train", 2, 4),
        ("after_run", 2, 4),
    ]
    assert rec.calls == expected
