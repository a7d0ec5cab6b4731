"""EarlyStoppingHook on synthetic metric streams: stops at the expected epoch."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from pydantic import ValidationError

from tests.logs.fake_runner import FakeClock, FakeRunner, losses, run_train
from typedengine.hooks.early_stopping import EarlyStoppingHook, EarlyStoppingHookConfig, infer_rule


def _train(tmp_path: Path, hook: EarlyStoppingHook, stream: list[float], key: str = "accuracy") -> FakeRunner:
    runner = FakeRunner(tmp_path, train_len=2, max_epochs=len(stream))
    runner.register_hook(hook)
    run_train(
        runner, FakeClock(), losses([0.0] * 2 * len(stream)), val_metrics=lambda e: {key: stream[e - 1]}
    )
    return runner


def test_stops_after_patience_validations_without_improvement(tmp_path: Path) -> None:
    # best: 50 (e1), 60 (e2); 60.05 is not > 60 + 0.1; 61 (e4) improves; then e5, e6, e7 do not -> stop after e7
    stream = [50, 60, 60.05, 61, 60, 59, 58, 70, 80, 90]
    hook = EarlyStoppingHookConfig(monitor="accuracy", patience=3, min_delta=0.1).build()
    runner = _train(tmp_path, hook, [float(x) for x in stream])
    assert runner.state.epoch == 7
    assert runner.train_loop.stop_training
    assert hook.best == 61.0
    assert any("did not improve" in line for line in runner.lines)


def test_loss_is_minimised_and_threshold_stops_at_once(tmp_path: Path) -> None:
    hook = EarlyStoppingHook("val_loss", patience=10, min_delta=0.0, stopping_threshold=0.2)
    runner = _train(tmp_path, hook, [1.0, 0.5, 0.3, 0.2, 0.1, 0.05], key="val_loss")
    assert hook.rule == "less"
    assert runner.state.epoch == 4  # 0.2 reaches the threshold


def test_non_finite_metric_stops(tmp_path: Path) -> None:
    hook = EarlyStoppingHook("loss", patience=10)
    runner = _train(tmp_path, hook, [1.0, 0.5, math.nan, 0.1], key="loss")
    assert runner.state.epoch == 3


def test_missing_monitor_warns_or_raises(tmp_path: Path) -> None:
    runner = _train(tmp_path, EarlyStoppingHook("accuracy", patience=1), [1.0, 1.0, 1.0], key="other")
    assert runner.state.epoch == 3
    assert sum("not among the metrics" in line for line in runner.lines) == 1  # warnings are de-duplicated
    with pytest.raises(KeyError, match="accuracy"):
        _train(tmp_path / "strict", EarlyStoppingHook("accuracy", strict=True), [1.0], key="other")


def test_standalone_validation_does_not_stop_anything(tmp_path: Path) -> None:
    runner = FakeRunner(tmp_path)
    hook = EarlyStoppingHook("accuracy", patience=1, stopping_threshold=0.0)
    hook.after_val_epoch(runner, {"accuracy": 1.0})  # type: ignore[arg-type]
    assert not runner.train_loop.stop_training


def test_state_survives_a_checkpoint(tmp_path: Path) -> None:
    runner = FakeRunner(tmp_path)
    hook = EarlyStoppingHook("accuracy", patience=3)
    hook.check(50.0)
    hook.check(40.0)
    ckpt: dict[str, object] = {}
    hook.before_save_checkpoint(runner, ckpt)  # type: ignore[arg-type]
    fresh = EarlyStoppingHook("accuracy", patience=3)
    fresh.after_load_checkpoint(runner, ckpt)  # type: ignore[arg-type]
    assert (fresh.best, fresh.wait_count) == (50.0, 1)


def test_rule_inference_and_config_errors() -> None:
    assert infer_rule("val/loss") == "less"
    assert infer_rule("top1_acc") == "greater" and infer_rule("mIoU") == "greater"
    assert infer_rule("f1") is None
    with pytest.raises(ValidationError, match="set rule"):
        EarlyStoppingHookConfig(monitor="f1")
    assert EarlyStoppingHookConfig(monitor="f1", rule="greater").build().rule == "greater"
