"""EmptyCacheHook calls torch.cuda.empty_cache at the configured points only."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.logs.fake_runner import FakeClock, FakeRunner, losses, run_train
from typedengine.hooks.empty_cache import EmptyCacheHookConfig


@pytest.mark.parametrize(
    ("kwargs", "calls"),
    [
        ({}, 2 * 2),  # after each train and val epoch, 2 epochs
        ({"before_epoch": True, "after_epoch": False}, 2 * 2),
        ({"after_epoch": False, "after_iter": True}, 2 * 3 + 2 * 4),  # 3 train + 4 val batches per epoch
    ],
)
def test_called_at_configured_points(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kwargs: dict[str, bool], calls: int
) -> None:
    seen: list[int] = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: seen.append(1))
    runner = FakeRunner(tmp_path, train_len=3, val_len=4, max_epochs=2)
    runner.register_hook(EmptyCacheHookConfig(**kwargs).build())
    run_train(runner, FakeClock(), losses([0.0] * 6), val_metrics=lambda e: {"acc": 1.0})
    assert len(seen) == calls
