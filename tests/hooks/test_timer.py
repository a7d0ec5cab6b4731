"""IterTimerHook: time, data_time and eta from a fixed clock."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.logs.fake_runner import FakeClock, FakeRunner, losses, run_train
from typedengine.hooks.hook import Hook
from typedengine.hooks.timer import IterTimerHook, IterTimerHookConfig


class EtaProbe(Hook):
    """Records the hub's eta after every train iteration (runs after the timer)."""

    priority = 90

    def __init__(self) -> None:
        self.etas: list[float] = []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):  # type: ignore[no-untyped-def]
        self.etas.append(float(runner.message_hub.get_info("eta")))


def test_time_data_time_and_train_eta(tmp_path: Path) -> None:
    runner = FakeRunner(tmp_path, train_len=10, max_epochs=3)
    clock = FakeClock()
    timer = IterTimerHook(clock)
    runner.register_hook(timer)
    probe = EtaProbe()
    runner.register_hook(probe)
    run_train(runner, clock, losses([0.0] * 30), iter_s=0.5, data_s=0.125, val_metrics=lambda e: {"acc": 1.0})
    etas = probe.etas
    hub = runner.message_hub
    assert hub.get_scalar("train/time").values() == [0.5] * 30
    # val between epochs does not count as waiting for data
    assert hub.get_scalar("train/data_time").values() == [0.125] * 30
    assert etas == pytest.approx([0.5 * (30 - i - 1) for i in range(30)])
    assert hub.get_scalar("val/time").values() == pytest.approx([0.01] * 12)  # 3 validations x 4 batches


def test_val_eta_counts_remaining_batches(tmp_path: Path) -> None:
    runner = FakeRunner(tmp_path, val_len=8)
    clock = FakeClock()
    timer = IterTimerHookConfig().build()
    timer.clock = clock
    runner.register_hook(timer)
    timer.before_val_epoch(runner)  # type: ignore[arg-type]
    for idx in range(3):
        timer.before_val_iter(runner, idx)  # type: ignore[arg-type]
        clock.advance(0.25 * (idx + 1))
        timer.after_val_iter(runner, idx)  # type: ignore[arg-type]
    # mean of 0.25, 0.5, 0.75 = 0.5 s x 5 batches left
    assert runner.message_hub.get_info("eta") == pytest.approx(2.5)


def test_resumed_run_eta_uses_only_iterations_since_resume(tmp_path: Path) -> None:
    runner = FakeRunner(tmp_path, train_len=10, max_epochs=2)
    runner.state.epoch = 1
    runner.state.iter = 10  # resumed after one epoch
    clock = FakeClock()
    probe = EtaProbe()
    runner.register_hook(IterTimerHook(clock))
    runner.register_hook(probe)
    run_train(runner, clock, losses([0.0] * 20), iter_s=1.0, data_s=0.0)
    assert probe.etas == pytest.approx([9.0 - i for i in range(10)])  # mean 1 s x iterations left
    assert runner.message_hub.get_scalar("train/time").values() == [1.0] * 10
