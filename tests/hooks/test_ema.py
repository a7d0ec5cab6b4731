"""EMAHook: the average equals a hand-computed EMA; validation and checkpoints see it; resume restores both."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader

import typedengine as te
from tests.conftest import TinyMLP, make_data
from typedengine.evaluation.accuracy import Accuracy
from typedengine.hooks.ema import EMAHook, EMAHookConfig, ExponentialMovingAverage
from typedengine.loops.epoch_based import EpochBasedTrainLoopConfig
from typedengine.optim.optimizers import SGDConfig
from typedengine.optim.wrapper import OptimWrapperConfig

M = 0.25


def hand_ema(snapshots: list[dict[str, torch.Tensor]], momentum: float) -> dict[str, torch.Tensor]:
    ema = {k: v.clone() for k, v in snapshots[0].items()}  # the first update copies
    for snap in snapshots[1:]:
        ema = {k: (1 - momentum) * ema[k] + momentum * snap[k] for k in ema}
    return ema


def test_average_matches_the_formula_and_swap_is_its_own_inverse() -> None:
    model = nn.BatchNorm1d(3)
    ema = ExponentialMovingAverage(model, momentum=M)
    snaps = []
    for step in range(5):
        with torch.no_grad():
            model.weight.add_(float(step + 1))
            model.running_mean.fill_(float(step))
        snaps.append({"weight": model.weight.detach().clone()})
        ema.update(model)
    expected = hand_ema(snaps, M)["weight"]
    assert torch.allclose(ema.params[0], expected)
    assert torch.equal(ema.buffers[0], model.running_mean)  # buffers copied, not averaged
    raw = model.weight.detach().clone()
    ema.swap(model)
    assert torch.allclose(model.weight, expected)
    ema.swap(model)
    assert torch.equal(model.weight, raw)


def test_begin_iter_and_interval() -> None:
    model = nn.Linear(1, 1, bias=False)
    ema = ExponentialMovingAverage(model, momentum=0.5, interval=2)
    values = []
    for step in range(5):
        with torch.no_grad():
            model.weight.fill_(float(step))
        ema.update(model)
        values.append(float(ema.params[0]))
    # step 0 copies (0); averaged at steps 2 and 4 only
    assert values == [0.0, 0.0, 1.0, 1.0, 2.5]
    with pytest.raises(ValueError):
        EMAHookConfig(begin_iter=3, begin_epoch=1)


class Snapshot(te.Hook):
    """Records the weights after every train step and at the start of every validation epoch."""

    priority = "low"  # after the EMA hook (normal)

    def __init__(self) -> None:
        self.train: list[dict[str, torch.Tensor]] = []
        self.val: list[dict[str, torch.Tensor]] = []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):  # type: ignore[no-untyped-def]
        self.train.append({k: v.detach().clone() for k, v in runner.unwrapped_model.named_parameters()})

    def before_val_epoch(self, runner):  # type: ignore[no-untyped-def]
        self.val.append({k: v.detach().clone() for k, v in runner.unwrapped_model.named_parameters()})


def _runner(work_dir: Path, hooks: list[te.Hook], *, epochs: int = 2, resume: bool = False) -> te.Runner:
    return te.Runner(
        model=TinyMLP(),
        work_dir=work_dir,
        train_dataloader=DataLoader(make_data(16), batch_size=4),
        val_dataloader=DataLoader(make_data(8, seed=2), batch_size=8),
        val_evaluator=Accuracy(),
        train=EpochBasedTrainLoopConfig(max_epochs=epochs),
        optim_wrapper=OptimWrapperConfig(optimizer=SGDConfig(lr=0.5)),
        custom_hooks=hooks,
        resume=resume,
    )


def test_runner_validates_and_saves_ema_weights_and_resume_restores_both(tmp_path: Path) -> None:
    snap = Snapshot()
    runner = _runner(tmp_path, [EMAHookConfig(momentum=M).build(), snap], epochs=2)
    runner.train()
    assert len(snap.train) == 8 and len(snap.val) == 2
    expected_epoch1 = hand_ema(snap.train[:4], M)
    expected = hand_ema(snap.train, M)
    for name, value in expected_epoch1.items():
        assert torch.allclose(snap.val[0][name], value, atol=1e-6)  # validation ran on the EMA weights
    raw = snap.train[-1]
    for name, value in runner.unwrapped_model.named_parameters():
        assert torch.equal(value.detach(), raw[name])  # swapped back after validation

    ckpt_path = tmp_path / "epoch_2.pth"
    ckpt = torch.load(ckpt_path, weights_only=True)
    for name, value in expected.items():
        assert torch.allclose(ckpt["state_dict"][name], value, atol=1e-6)
        assert torch.equal(ckpt["ema_state_dict"][name], raw[name])

    # resume: the model gets the raw weights back, the EMA the average
    ema_hook = EMAHook(momentum=M)
    resumed = _runner(tmp_path, [ema_hook], epochs=2, resume=True)
    resumed.train()  # nothing left to train: loads and stops
    for name, value in resumed.unwrapped_model.named_parameters():
        assert torch.equal(value.detach(), raw[name])
    assert ema_hook.ema is not None
    averaged = dict(zip(ema_hook.ema.param_names, ema_hook.ema.params))
    for name, value in expected.items():
        assert torch.allclose(averaged[name], value, atol=1e-6)
    assert ema_hook.ema.steps == 8
