"""EarlyStoppingHook driven by a real Runner: where it stops, what survives a resume, and its config checks."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
import torch
from pydantic import ValidationError

import typedengine as te
from tests.conftest import TinyMLP, make_data
from typedengine.checkpoint.io import load_checkpoint_file
from typedengine.config.errors import ConfigError
from typedengine.errors import UsageError
from typedengine.evaluation.accuracy import AccuracyConfig
from typedengine.evaluation.evaluator import EvaluatorConfig
from typedengine.hooks.checkpoint import CheckpointHookConfig
from typedengine.hooks.choices import DefaultHooksConfig
from typedengine.hooks.early_stopping import EarlyStoppingHook, EarlyStoppingHookConfig


class Tensors(te.DatasetConfig):
    n: int = 24

    def build(self) -> torch.utils.data.TensorDataset:
        return make_data(n=self.n)

    def declared_length(self) -> int:
        return self.n


class EpochScript(te.BaseMetric):
    """Reports ``script[e - 1]`` at the validation after epoch ``e`` (the epoch comes from :class:`Clock`)."""

    def __init__(self, script: Sequence[Mapping[str, float]]) -> None:
        super().__init__()
        self.script = list(script)
        self.epoch = 0

    def process(self, data_batch: object, data_samples: object) -> None:
        self.results.append(1)

    def compute_metrics(self, results: list[object]) -> Mapping[str, float]:
        return dict(self.script[min(self.epoch, len(self.script)) - 1])


class Clock(te.Hook):
    """Tells the scripted metric which epoch was validated (state.epoch counts completed epochs)."""

    def __init__(self, metric: EpochScript) -> None:
        self.metric = metric

    def before_val_epoch(self, runner: te.Runner) -> None:
        self.metric.epoch = runner.state.epoch


class _Stop(Exception):
    pass


class StopIn(te.Hook):
    """Raises in the middle of epoch ``epoch`` (1-based): a crash after that epoch's predecessors saved."""

    priority = "lowest"

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):  # type: ignore[no-untyped-def]
        if runner.state.epoch + 1 == self.epoch and runner.state.inner_iter == 1:
            raise _Stop


def _runner(
    work_dir: Path,
    script: Sequence[Mapping[str, float]],
    hook: EarlyStoppingHook,
    *,
    epochs: int = 10,
    resume: bool = False,
    interval: int = 1,
    extra: Sequence[te.Hook] = (),
) -> te.Runner:
    torch.manual_seed(0)
    metric = EpochScript(script)
    return te.Runner(
        model=TinyMLP(),
        work_dir=work_dir,
        train_dataloader=te.DataLoaderConfig[Tensors](dataset=Tensors(), batch_size=8),
        train=te.EpochBasedTrainLoopConfig(max_epochs=epochs),
        optim_wrapper=te.OptimWrapperConfig(optimizer=te.SGDConfig(lr=0.05)),
        val_dataloader=te.DataLoaderConfig[Tensors](dataset=Tensors(n=8), batch_size=8, shuffle=False),
        val_evaluator=metric,
        randomness=te.RandomnessConfig(seed=3),
        default_hooks=DefaultHooksConfig(
            checkpoint=CheckpointHookConfig(interval=interval, async_write=False)
        ),
        custom_hooks=[hook, Clock(metric), *extra],
        resume=resume,
    )


def _log(runner: te.Runner) -> str:
    """What the run wrote to its log file (what the console showed, with the file's time stamps)."""
    return (runner.log_dir / f"{runner.timestamp}.log").read_text()


def _acc(*values: float) -> list[dict[str, float]]:
    return [{"accuracy": v} for v in values]


# --------------------------------------------------------------------------------------------------------
# where it stops
# --------------------------------------------------------------------------------------------------------
def test_stops_after_patience_validations_without_improvement(tmp_path: Path) -> None:
    # best: 50 (e1), 60 (e2); 60.05 is not > 60 + 0.1; 61 (e4) improves; then e5, e6, e7 do not -> stop after e7
    stream = _acc(50, 60, 60.05, 61, 60, 59, 58, 70, 80, 90)
    hook = EarlyStoppingHookConfig(monitor="accuracy", patience=3, min_delta=0.1).build()
    runner = _runner(tmp_path, stream, hook)
    runner.train()
    assert runner.state.epoch == 7
    assert hook.stopped and hook.best == 61.0 and hook.stop_kind == "patience"
    assert "did not improve" in str(hook.stop_reason)


def test_loss_is_minimised_and_threshold_stops_at_once(tmp_path: Path) -> None:
    hook = EarlyStoppingHook("val_loss", patience=10, min_delta=0.0, stopping_threshold=0.2)
    runner = _runner(tmp_path, [{"val_loss": v} for v in (1.0, 0.5, 0.3, 0.2, 0.1, 0.05)], hook, epochs=6)
    runner.train()
    assert hook.rule == "less"
    assert runner.state.epoch == 4  # 0.2 reaches the threshold


def test_non_finite_metric_stops(tmp_path: Path) -> None:
    hook = EarlyStoppingHook("loss", patience=10)
    runner = _runner(tmp_path, [{"loss": v} for v in (1.0, 0.5, math.nan, 0.1)], hook, epochs=4)
    runner.train()
    assert runner.state.epoch == 3


def test_a_monitor_the_first_validation_lacks_is_a_usage_error_not_a_warning_per_epoch(
    tmp_path: Path,
) -> None:
    runner = _runner(tmp_path, [{"Accuracy": 1.0}], EarlyStoppingHook("accuracy", patience=1), epochs=3)
    with pytest.raises(UsageError) as info:
        runner.train()
    assert "EarlyStoppingHook(monitor): no metric produces 'accuracy' (the metrics produce: Accuracy)" in str(
        info.value
    )
    assert "did you mean 'Accuracy'?" in str(info.value)
    assert runner.state.epoch == 1  # stopped at the first validation


def test_a_monitor_that_vanishes_later_warns_once_or_raises_when_strict(tmp_path: Path) -> None:
    stream = [{"accuracy": 1.0}, {"other": 1.0}, {"other": 1.0}, {"other": 1.0}]
    runner = _runner(tmp_path / "a", stream, EarlyStoppingHook("accuracy", patience=5), epochs=4)
    runner.train()
    assert _log(runner).count("EarlyStoppingHook(monitor): no metric produces 'accuracy'") == 1
    with pytest.raises(UsageError, match="no metric produces 'accuracy'"):
        _runner(tmp_path / "b", stream, EarlyStoppingHook("accuracy", strict=True), epochs=4).train()


def test_standalone_validation_does_not_stop_anything(tmp_path: Path) -> None:
    hook = EarlyStoppingHook("accuracy", patience=1, stopping_threshold=0.0)
    runner = _runner(tmp_path, _acc(1.0), hook)
    runner.val()
    assert not hook.stopped and hook.wait_count == 0


# --------------------------------------------------------------------------------------------------------
# resume
# --------------------------------------------------------------------------------------------------------
STREAM = _acc(50, 60, 60, 60, 60, 60, 60, 60)  # improvements at e1, e2; patience 3 -> stop after e5


@pytest.mark.parametrize("interval", [1, 2])
def test_a_resumed_run_stops_at_the_same_epoch_as_an_uninterrupted_one(tmp_path: Path, interval: int) -> None:
    straight_hook = EarlyStoppingHook("accuracy", patience=3)
    straight = _runner(tmp_path / "straight", STREAM, straight_hook, epochs=8, interval=interval)
    straight.train()
    assert straight.state.epoch == 5 and straight_hook.stopped

    work = tmp_path / "crashed"
    with pytest.raises(_Stop):  # the crash comes in epoch 5, after the checkpoints of epochs 4 (or 2 and 4)
        _runner(
            work,
            STREAM,
            EarlyStoppingHook("accuracy", patience=3),
            epochs=8,
            interval=interval,
            extra=[StopIn(5)],
        ).train()
    ckpt = load_checkpoint_file(work / "epoch_4.pth")
    saved, run_state = ckpt["early_stopping"], ckpt["run_state"]
    # the checkpoint of epoch 4 was written before its validation: it counts 1 validation without
    # improvement (e3), and says epoch 3 was the last validated, so the resumed loop validates epoch 4 first
    assert isinstance(saved, dict) and (saved["best"], saved["wait_count"], saved["stopped"]) == (60.0, 1, False)
    assert isinstance(run_state, dict) and run_state["validated"] == 3
    resumed_hook = EarlyStoppingHook("accuracy", patience=3)
    resumed = _runner(work, STREAM, resumed_hook, epochs=8, interval=interval, resume=True)
    resumed.train()
    assert resumed.state.epoch == 5 and resumed_hook.stopped
    assert resumed_hook.best == straight_hook.best and resumed_hook.wait_count == straight_hook.wait_count
    # save_last: the point where early stopping ended the run has its checkpoint, which says so
    final = load_checkpoint_file(work / "epoch_5.pth")
    assert final["early_stopping"]["stopped"] is True  # type: ignore[index]
    for name, value in straight.unwrapped_model.state_dict().items():
        assert torch.equal(resumed.unwrapped_model.state_dict()[name], value)


def test_resuming_a_run_early_stopping_ended_trains_nothing_and_says_so(tmp_path: Path) -> None:
    _runner(tmp_path, STREAM, EarlyStoppingHook("accuracy", patience=3), epochs=8).train()
    files = sorted(p.name for p in tmp_path.glob("*.pth"))
    again = _runner(tmp_path, STREAM, EarlyStoppingHook("accuracy", patience=3), epochs=8, resume=True)
    again.train()
    assert again.state.epoch == 5 and again.state.iter == 15  # no iteration ran
    assert sorted(p.name for p in tmp_path.glob("*.pth")) == files
    assert "training already finished at epoch 5 / iter 15 (checkpoint " in _log(again)
    assert "early stopping ended it (accuracy did not improve by more than 0.1 in the last 3" in _log(again)


def test_a_larger_patience_on_resume_lets_the_run_continue(tmp_path: Path) -> None:
    _runner(tmp_path, STREAM, EarlyStoppingHook("accuracy", patience=3), epochs=8).train()
    hook = EarlyStoppingHook("accuracy", patience=5)
    runner = _runner(tmp_path, STREAM, hook, epochs=8, resume=True)
    runner.train()
    assert runner.state.epoch == 7 and hook.stopped and hook.wait_count == 5  # e3..e7 without improvement


def test_state_in_the_checkpoint_is_plain_data(tmp_path: Path) -> None:
    hook = EarlyStoppingHook("accuracy", patience=3)
    hook.check(50.0)
    hook.check(40.0)
    ckpt: dict[str, object] = {}
    hook.before_save_checkpoint(None, ckpt)  # type: ignore[arg-type]
    from typedengine.checkpoint.io import check_serialisable

    check_serialisable(ckpt)
    fresh = EarlyStoppingHook("accuracy", patience=3)
    fresh.after_load_checkpoint(None, ckpt)  # type: ignore[arg-type]
    assert (fresh.best, fresh.wait_count, fresh.stopped) == (50.0, 1, False)


# --------------------------------------------------------------------------------------------------------
# rules and config checks
# --------------------------------------------------------------------------------------------------------
def test_rule_inference_is_the_checkpoint_hooks_and_config_errors_name_the_field() -> None:
    assert EarlyStoppingHook("val/Loss").rule == "less"
    assert EarlyStoppingHook("Top1").rule == "greater" and EarlyStoppingHook("mIoU").rule == "greater"
    with pytest.raises(ValueError, match="cannot tell"):
        EarlyStoppingHook("f1")
    with pytest.raises(
        ValidationError, match=r"monitor: cannot tell whether a larger or smaller 'f1' is better"
    ):
        EarlyStoppingHookConfig(monitor="f1")
    with pytest.raises(ValidationError, match="contains both"):
        EarlyStoppingHookConfig(monitor="top1_loss")
    assert EarlyStoppingHookConfig(monitor="f1", rule="greater").build().rule == "greater"


def _experiment(**fields: object) -> te.RunnerConfig:
    class Tiny(te.ModelConfig):
        def build(self) -> TinyMLP:
            return TinyMLP()

    base: dict[str, object] = {
        "model": Tiny(),
        "train_dataloader": te.DataLoaderConfig[Tensors](dataset=Tensors()),
        "train": te.EpochBasedTrainLoopConfig(max_epochs=2),
        "optim_wrapper": te.OptimWrapperConfig(optimizer=te.SGDConfig(lr=0.1)),
        "val_dataloader": te.DataLoaderConfig[Tensors](dataset=Tensors()),
        "val_evaluator": EvaluatorConfig[AccuracyConfig](metrics=(AccuracyConfig(topk=(1, 5)),)),
    }
    base.update(fields)
    return te.RunnerConfig(**base)  # type: ignore[arg-type]


def test_config_time_monitor_check_names_the_path_the_keys_and_a_suggestion() -> None:
    hooks = DefaultHooksConfig(early_stopping=EarlyStoppingHookConfig(monitor="acuracy/top1"))
    with pytest.raises((ValidationError, ConfigError)) as info:
        _experiment(default_hooks=hooks)
    text = str(info.value)
    assert "default_hooks.early_stopping.monitor" in text
    assert "no metric produces 'acuracy/top1' (the metrics produce: accuracy/top1, accuracy/top5)" in text
    assert "did you mean 'accuracy/top1'?" in text
    custom = (EarlyStoppingHookConfig(monitor="acc"),)
    with pytest.raises(
        (ValidationError, ConfigError), match=r"custom_hooks\[0\]\.monitor: no metric produces 'acc'"
    ):
        _experiment(custom_hooks=custom)
    with pytest.raises((ValidationError, ConfigError), match="early stopping never acts"):
        _experiment(default_hooks=hooks, val_dataloader=None, val_evaluator=None)
    _experiment(
        default_hooks=DefaultHooksConfig(early_stopping=EarlyStoppingHookConfig(monitor="accuracy/top5"))
    )
