"""Every union member builds and runs; LR / momentum / generic variants agree; ReduceOnPlateau's rules."""

from __future__ import annotations

import typing

import pytest
import torch
from pydantic import BaseModel, TypeAdapter

from typedengine.optim import (
    AdamConfig,
    OptimWrapperConfig,
    ParamSchedulerConfig,
    ReduceOnPlateauLRConfig,
    ReduceOnPlateauMomentumConfig,
    ReduceOnPlateauParamScheduler,
    SGDConfig,
    build_param_schedulers,
)

SETTINGS: dict[str, dict[str, object]] = {
    "constant": {"factor": 0.5, "end": 4},
    "linear": {"start_factor": 0.2, "end": 5},
    "step": {"step_size": 2, "gamma": 0.5},
    "multistep": {"milestones": (1, 3), "gamma": 0.5},
    "exponential": {"gamma": 0.8},
    "cosine": {"end": 6},
    "cosine_restart": {"periods": (3, 3), "restart_weights": (1.0, 0.5), "eta_min": 0.0},
    "poly": {"end": 6, "power": 2.0},
    "onecycle": {"eta_max": 0.5, "end": 8},
    "plateau": {"patience": 0},
}


def _members() -> list[type[BaseModel]]:
    union = typing.get_args(ParamSchedulerConfig)[0]
    return [typing.get_args(member)[0] for member in typing.get_args(union)]


def _kind(tag: str) -> str:
    return tag.rsplit("_", 1)[0]


def test_union_has_all_ten_kinds_in_three_variants() -> None:
    tags = [m.model_fields["type"].default for m in _members()]
    kinds = {_kind(t) for t in tags}
    assert kinds == set(SETTINGS)
    for kind in kinds - {"onecycle"}:
        assert {f"{kind}_lr", f"{kind}_momentum", f"{kind}_param"} <= set(tags)
    assert "onecycle_lr" in tags  # OneCycle schedules the lr only (as in MMEngine)


def _run(cfg: ParamSchedulerConfig, key: str, n: int = 8) -> list[float]:
    torch.manual_seed(0)
    wrapper = OptimWrapperConfig(optimizer=SGDConfig(lr=0.1, momentum=0.9, weight_decay=0.1)).build(
        torch.nn.Linear(2, 2)
    )
    (sched,) = build_param_schedulers([cfg], wrapper, epoch_length=1, max_epochs=n, max_iters=n)
    out = []
    for epoch in range(n):
        out.append(wrapper.optimizer.param_groups[0][key])
        sched.step()
        if sched.need_val_args:
            sched.step_with_metrics({"loss": 1.0})  # never improves after the first: reduces every time
    return out


@pytest.mark.parametrize("member", _members(), ids=lambda m: m.model_fields["type"].default)
def test_variants_agree(member: type[BaseModel]) -> None:
    tag = member.model_fields["type"].default
    kind, variant = _kind(tag), tag.rsplit("_", 1)[1]
    adapter: TypeAdapter[ParamSchedulerConfig] = TypeAdapter(ParamSchedulerConfig)
    lr_cfg = adapter.validate_python({"type": f"{kind}_lr", **SETTINGS[kind]})
    reference = _run(lr_cfg, "lr")
    assert len(set(reference)) > 1, "the schedule should change the value"
    if variant == "lr":
        return
    if variant == "param":
        param_cfg = adapter.validate_python({"type": tag, "param_name": "weight_decay", **SETTINGS[kind]})
        got, scale = _run(param_cfg, "weight_decay"), 0.1 / 0.1
    else:
        got, scale = _run(adapter.validate_python({"type": tag, **SETTINGS[kind]}), "momentum"), 0.9 / 0.1
    for a, b in zip(got, reference):
        assert a == pytest.approx(b * scale, abs=1e-9)


def _plateau_run(cfg: ReduceOnPlateauLRConfig, metrics: list[float]) -> list[float]:
    wrapper = OptimWrapperConfig(optimizer=SGDConfig(lr=0.1)).build(torch.nn.Linear(2, 2))
    (sched,) = build_param_schedulers([cfg], wrapper, epoch_length=1, max_epochs=100, max_iters=100)
    lrs = []
    for value in metrics:
        sched.step()  # after_train_epoch: counts the epoch
        sched.step_with_metrics({"loss": value, "acc": -value})
        lrs.append(wrapper.get_lr()["lr"][0])
    return lrs


METRICS = [1.0, 0.9, 0.95, 0.96, 0.97, 0.8, 0.85, 0.86]


def test_plateau_patience_cooldown() -> None:
    # traced by hand from the rule: bad epochs 0,0,1,2(>1: halve, cooldown 1),0(cooldown),0,1,2(halve)
    lrs = _plateau_run(ReduceOnPlateauLRConfig(patience=1, factor=0.5, cooldown=1), METRICS)
    assert lrs == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.025], abs=1e-12)


def test_plateau_greater_rule_min_value_and_window() -> None:
    cfg = ReduceOnPlateauLRConfig(
        monitor="acc", rule="greater", patience=1, factor=0.5, cooldown=1, min_value=0.03
    )
    assert _plateau_run(cfg, METRICS) == pytest.approx(
        [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.03], abs=1e-12
    )
    # begin=3: the validations after epochs 1 and 2 are outside the window and ignored
    late = ReduceOnPlateauLRConfig(patience=0, factor=0.5, begin=3)
    assert _plateau_run(late, [1.0, 2.0, 3.0, 4.0]) == pytest.approx([0.1, 0.1, 0.1, 0.05], abs=1e-12)


def test_plateau_abs_threshold() -> None:
    cfg = ReduceOnPlateauLRConfig(patience=0, factor=0.5, threshold=0.2, threshold_rule="abs")
    # 0.9 is not 0.2 below 1.0: bad; 0.7 is: good; 0.6 is not 0.2 below 0.7: bad
    assert _plateau_run(cfg, [1.0, 0.9, 0.7, 0.6]) == pytest.approx([0.1, 0.05, 0.05, 0.025], abs=1e-12)


def test_plateau_missing_monitor_and_by_epoch_only() -> None:
    wrapper = OptimWrapperConfig(optimizer=SGDConfig(lr=0.1)).build(torch.nn.Linear(2, 2))
    (sched,) = build_param_schedulers(
        [ReduceOnPlateauLRConfig(monitor="mAP")], wrapper, epoch_length=1, max_epochs=5, max_iters=5
    )
    with pytest.raises(KeyError, match="mAP"):
        sched.step_with_metrics({"loss": 1.0})
    with pytest.raises(ValueError, match="by_epoch"):
        ReduceOnPlateauLRConfig(by_epoch=False)


def test_plateau_momentum_on_adam_and_state_dict() -> None:
    wrapper = OptimWrapperConfig(optimizer=AdamConfig(betas=(0.9, 0.99))).build(torch.nn.Linear(2, 2))
    (sched,) = build_param_schedulers(
        [ReduceOnPlateauMomentumConfig(patience=0, factor=0.5)],
        wrapper,
        epoch_length=1,
        max_epochs=9,
        max_iters=9,
    )
    assert isinstance(sched, ReduceOnPlateauParamScheduler)
    for value in (1.0, 1.0):
        sched.step()
        sched.step_with_metrics({"loss": value})
    assert wrapper.optimizer.param_groups[0]["betas"] == pytest.approx((0.45, 0.99))
    state = sched.state_dict()
    assert state["best"] == 1.0 and state["_global_step"] == 2 and state["last_step"] == 1
    fresh = ReduceOnPlateauParamScheduler(wrapper, "momentum")
    fresh.load_state_dict(state)
    assert (fresh.best, fresh.global_step) == (1.0, 2)
