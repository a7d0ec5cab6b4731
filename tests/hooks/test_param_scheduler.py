"""ParamSchedulerHook drives schedulers per iteration, per epoch and with validation metrics."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
import torch

from typedengine.hooks.param_scheduler import ParamSchedulerHook, ParamSchedulerHookConfig
from typedengine.hooks.priority import Priority
from typedengine.optim.optimizers import SGDConfig
from typedengine.optim.schedulers.choices import build_param_schedulers
from typedengine.optim.schedulers.linear import LinearSchedulerConfig
from typedengine.optim.schedulers.plateau import ReduceOnPlateauSchedulerConfig
from typedengine.optim.schedulers.step import MultiStepSchedulerConfig
from typedengine.optim.wrapper import OptimWrapperConfig


def _runner() -> Any:
    wrapper = OptimWrapperConfig(optimizer=SGDConfig(lr=0.1, weight_decay=0.1)).build(torch.nn.Linear(2, 2))
    scheds = build_param_schedulers(
        [
            LinearSchedulerConfig(start_factor=0.5, by_epoch=False, end=4),
            MultiStepSchedulerConfig(milestones=(1,), gamma=0.1),
            ReduceOnPlateauSchedulerConfig(param="weight_decay", patience=0, factor=0.5),
        ],
        wrapper,
        epoch_length=3,
        max_epochs=3,
        max_iters=9,
    )
    return SimpleNamespace(param_schedulers=scheds, optim_wrapper=wrapper)


def test_config_builds_a_low_priority_hook() -> None:
    hook = ParamSchedulerHookConfig().build()
    assert isinstance(hook, ParamSchedulerHook) and hook.priority == Priority.LOW
    assert set(hook.triggered_points()) == {"after_train_iter", "after_train_epoch", "after_val_epoch"}


def test_hook_steps_iteration_epoch_and_metric_schedulers() -> None:
    runner = _runner()
    hook = ParamSchedulerHook()
    lrs, wds = [], []
    for epoch in range(3):
        for i in range(3):
            lrs.append(runner.optim_wrapper.get_lr()["lr"][0])
            hook.after_train_iter(runner, i)
        hook.after_train_epoch(runner)
        hook.after_val_epoch(runner, {"loss": 1.0})
        hook.after_val_epoch(runner, None)  # no metrics: nothing happens
        wds.append(runner.optim_wrapper.optimizer.param_groups[0]["weight_decay"])
    warm = [0.5 + 0.5 * min(t, 3) / 3 for t in range(9)]
    expected = [0.1 * w * (0.1 if t >= 3 else 1.0) for t, w in enumerate(warm)]
    assert lrs == pytest.approx(expected, abs=1e-12)
    # first validation sets the best, the next (non-improving) one halves it; the one after epoch 3 has
    # global step 3 == end (the run length, MMEngine's default end) and is outside the window
    assert wds == [0.1, 0.05, 0.05]


def test_no_schedulers_is_fine() -> None:
    hook = ParamSchedulerHook()
    runner = SimpleNamespace(param_schedulers=[])
    hook.after_train_iter(runner, 0)
    hook.after_train_epoch(runner)
    hook.after_val_epoch(runner, {"loss": 1.0})
