"""Runner behaviour: lazy phases, iteration-based training, stop flag, custom loops, hook registration."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

import typedengine as te
from tests.conftest import RecordingHook, TinyMLP, make_data
from typedengine.hooks.choices import DefaultHooksConfig


class CountingData(te.DatasetConfig):
    """A dataset config that records whether it was built."""

    n: int = 16

    def build(self) -> TensorDataset:
        CountingData_builds.append(self.n)
        return make_data(n=self.n)


CountingData_builds: list[int] = []


def _runner(tmp_path: Path, **kwargs: object) -> te.Runner:
    base: dict[str, object] = {"model": TinyMLP(), "work_dir": tmp_path, "default_hooks": DefaultHooksConfig(checkpoint=None)}
    base.update(kwargs)
    return te.Runner(**base)  # type: ignore[arg-type]


def test_test_alone_never_builds_train_parts(tmp_path: Path) -> None:
    CountingData_builds.clear()
    runner = _runner(
        tmp_path,
        train_dataloader=te.DataLoaderConfig[CountingData](dataset=CountingData(n=32)),
        train=te.EpochBasedTrainLoopConfig(max_epochs=1),
        optim_wrapper=te.OptimWrapperConfig(),
        test_dataloader=te.DataLoaderConfig[CountingData](dataset=CountingData(n=8), shuffle=False),
        test_evaluator=te.AccuracyConfig(),
    )
    metrics = runner.test()
    assert set(metrics) == {"accuracy"}
    assert CountingData_builds == [8]  # only the test dataset was built
    assert runner.optim_wrapper is None


def test_val_alone_returns_metrics(tmp_path: Path) -> None:
    runner = _runner(tmp_path, val_dataloader=DataLoader(make_data(n=12), batch_size=5), val_evaluator=te.Accuracy())
    metrics = runner.val()
    assert 0.0 <= metrics["accuracy"] <= 100.0


def test_missing_parts_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="training needs train_dataloader, train, optim_wrapper together"):
        _runner(tmp_path, train=te.EpochBasedTrainLoopConfig(max_epochs=1))
    with pytest.raises(ValueError, match="validation needs val_dataloader, val_evaluator together"):
        _runner(tmp_path, val_dataloader=DataLoader(make_data()))


def test_iteration_based_training_and_validation_cadence(tmp_path: Path) -> None:
    rec = RecordingHook()
    runner = _runner(
        tmp_path,
        train_dataloader=te.DataLoaderConfig[CountingData](dataset=CountingData(n=16), batch_size=4),
        train=te.IterBasedTrainLoopConfig(max_iters=10, val_interval=4),
        optim_wrapper=te.OptimWrapperConfig(),
        val_dataloader=DataLoader(make_data(n=8), batch_size=8),
        val_evaluator=te.Accuracy(),
        custom_hooks=[rec],
    )
    runner.train()
    assert runner.state.iter == 10
    val_at = [i for name, _, i in rec.calls if name == "before_val"]
    assert val_at == [4, 8, 10]  # every 4 iterations and the last one; the stream crosses 4-batch passes
    train_iters = [i for name, _, i in rec.calls if name == "before_train_iter"]
    assert train_iters == list(range(10))


class ModeProbe(te.Hook):
    """Records the model's mode at every training iteration; validates from a hook after iteration 2."""

    def __init__(self) -> None:
        self.modes: list[bool] = []

    def before_train_iter(self, runner: te.Runner, batch_idx: int, data_batch: object = None) -> None:
        self.modes.append(runner.model.training)

    def after_train_iter(
        self, runner: te.Runner, batch_idx: int, data_batch: object = None, outputs: object = None
    ) -> None:
        if runner.state.iter == 1:
            runner.val_loop.run()  # a hook's own validation in the middle of training


@pytest.mark.parametrize("loop", ["epoch", "iter"])
def test_validation_inside_training_hands_back_a_training_model(tmp_path: Path, loop: str) -> None:
    probe = ModeProbe()
    train: te.TrainLoopConfig = (
        te.EpochBasedTrainLoopConfig(max_epochs=2, val_interval=1)
        if loop == "epoch"
        else te.IterBasedTrainLoopConfig(max_iters=8, val_interval=3)
    )
    runner = _runner(
        tmp_path,
        train_dataloader=te.DataLoaderConfig[CountingData](dataset=CountingData(n=16), batch_size=4),
        train=train,
        optim_wrapper=te.OptimWrapperConfig(),
        val_dataloader=DataLoader(make_data(n=8), batch_size=8),
        val_evaluator=te.Accuracy(),
        custom_hooks=[probe],
    )
    runner.train()
    assert len(probe.modes) == 8 and all(probe.modes)  # after the hook's and the loop's validations


class StopAfter(te.Hook):
    def __init__(self, epochs: int) -> None:
        self.epochs = epochs

    def after_train_epoch(self, runner: te.Runner) -> None:
        if runner.state.epoch + 1 >= self.epochs:
            runner.train_loop.stop_training = True


def test_stop_training_ends_at_the_epoch_boundary(tmp_path: Path) -> None:
    runner = _runner(
        tmp_path,
        train_dataloader=DataLoader(make_data(n=8), batch_size=4),
        train=te.EpochBasedTrainLoopConfig(max_epochs=5),
        optim_wrapper=te.OptimWrapperConfig(),
        custom_hooks=[StopAfter(2)],
    )
    runner.train()
    assert (runner.state.epoch, runner.state.iter) == (2, 4)


class HalfEpochLoop(te.EpochBasedTrainLoop):
    """A user loop: trains only the first half of every epoch's batches."""

    def run_epoch(self) -> None:
        runner = self.runner
        runner.call_hook("before_train_epoch")
        runner.model.train()
        half = len(self.dataloader) // 2
        for idx, batch in enumerate(self.dataloader):
            if idx >= half:
                break
            self.run_iter(idx, batch)
        runner.call_hook("after_train_epoch")
        runner.state.epoch += 1
        runner.state.inner_iter = 0


class HalfEpochLoopConfig(te.EpochBasedTrainLoopConfig):
    type: te.Tag[Literal["half-epoch"]] = "half-epoch"  # type: ignore[assignment]  # a new discriminator value

    def build(self, runner: te.Runner, dataloader: DataLoader[object]) -> HalfEpochLoop:
        return HalfEpochLoop(runner, dataloader, max_epochs=self.max_epochs)


def test_user_defined_loop_plugs_in(tmp_path: Path) -> None:
    runner = _runner(
        tmp_path,
        train_dataloader=DataLoader(make_data(n=16), batch_size=4),
        train=HalfEpochLoopConfig(max_epochs=3),
        optim_wrapper=te.OptimWrapperConfig(),
    )
    runner.train()
    assert isinstance(runner.train_loop, HalfEpochLoop)
    assert runner.state.iter == 3 * 2


class Tagger(te.Hook):
    def __init__(self, name: str, log: list[str]) -> None:
        self.name, self.log = name, log

    def before_train(self, runner: te.Runner) -> None:
        self.log.append(self.name)

    def my_custom_point(self, runner: te.Runner, value: int) -> None:
        self.log.append(f"{self.name}:{value}")


def test_priorities_ties_and_custom_points(tmp_path: Path) -> None:
    log: list[str] = []
    runner = _runner(
        tmp_path,
        train_dataloader=DataLoader(make_data(n=4), batch_size=4),
        train=te.EpochBasedTrainLoopConfig(max_epochs=1),
        optim_wrapper=te.OptimWrapperConfig(),
        custom_hooks=[Tagger("a", log), Tagger("b", log)],
    )
    runner.register_hook(Tagger("first", log), priority="highest")
    runner.register_hook(Tagger("c", log), priority=50)
    runner.train()
    assert log == ["first", "a", "b", "c"]
    log.clear()
    runner.call_hook("my_custom_point", value=3)
    assert log == ["first:3", "a:3", "b:3", "c:3"]


def test_mmengine_style_default_hooks_mapping_removes_with_none(tmp_path: Path) -> None:
    runner = _runner(tmp_path, default_hooks={"timer": None, "checkpoint": None})
    names = [type(h).__name__ for h in runner.hooks]
    assert "IterTimerHook" not in names and "CheckpointHook" not in names
    assert "LoggerHook" in names
    with pytest.raises(ValueError, match="unknown slot"):
        _runner(tmp_path, default_hooks={"timr": None})


def test_work_dir_records_config_and_command(tmp_path: Path) -> None:
    import importlib

    digits = importlib.import_module("01_digits")
    cfg = digits.DigitsExperiment(work_dir=tmp_path, train=te.EpochBasedTrainLoopConfig(max_epochs=1))
    runner = te.Runner.from_config(cfg)
    runner.train()
    log_dir = runner.log_dir
    saved = json.loads((log_dir / "config.json").read_text())
    assert digits.DigitsExperiment.model_validate(saved) == cfg
    assert (log_dir / f"{runner.timestamp}.log").read_text().count("Epoch(train)") >= 1
    rows = [json.loads(line) for line in (log_dir / "scalars.jsonl").read_text().splitlines()]
    assert {"step", "epoch", "iter", "mode"} <= set(rows[0])
    assert any(r["mode"] == "val" and "accuracy" in r for r in rows)
    assert torch.load(tmp_path / "epoch_1.pth", weights_only=True)
