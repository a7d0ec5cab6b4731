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


def test_no_schedulers_leave_the_optimizer_alone() -> None:
    wrapper = OptimWrapperConfig(optimizer=SGDConfig(lr=0.1, weight_decay=0.1)).build(torch.nn.Linear(2, 2))
    before = [{k: v for k, v in g.items() if k != "params"} for g in wrapper.param_groups]
    hook = ParamSchedulerHook()
    for runner in (
        SimpleNamespace(param_schedulers=[], optim_wrapper=wrapper),
        SimpleNamespace(optim_wrapper=wrapper),
    ):
        hook.after_train_iter(runner, 0)  # type: ignore[arg-type]
        hook.after_train_epoch(runner)  # type: ignore[arg-type]
        hook.after_val_epoch(runner, {"loss": 1.0})  # type: ignore[arg-type]
    assert [{k: v for k, v in g.items() if k != "params"} for g in wrapper.param_groups] == before


def test_the_hook_and_a_replay_step_identically() -> None:
    """--plan and resume replay schedulers with the schedule's rule; the hook must step the same way."""
    from typedengine.runner.schedule import RunSchedule, replay_schedulers

    by_hook, by_replay = _runner(), _runner()
    hook = ParamSchedulerHook()
    for _ in range(2):
        for i in range(3):
            hook.after_train_iter(by_hook, i)
        hook.after_train_epoch(by_hook)
    schedule = RunSchedule(by_epoch=True, run_length=3, iters_per_epoch=3)
    replay_schedulers(by_replay.param_schedulers, schedule, epochs=2, inner_iters=0)
    assert by_hook.optim_wrapper.get_lr() == by_replay.optim_wrapper.get_lr()
    assert [s.state_dict() for s in by_hook.param_schedulers] == [
        s.state_dict() for s in by_replay.param_schedulers
    ]
