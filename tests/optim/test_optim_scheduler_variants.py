"""Every union member builds and runs; one config per kind drives lr, momentum or any key alike; the former
per-variant tags still load and build the same schedule; ReduceOnPlateau's rules."""

from __future__ import annotations

import typing

import pytest
import torch
from pydantic import BaseModel, TypeAdapter, ValidationError

from typedengine.optim.optimizers import AdamConfig, SGDConfig
from typedengine.optim.schedulers.choices import ParamSchedulerConfig, build_param_schedulers
from typedengine.optim.schedulers.one_cycle import OneCycleSchedulerConfig
from typedengine.optim.schedulers.plateau import ReduceOnPlateauParamScheduler, ReduceOnPlateauSchedulerConfig
from typedengine.optim.wrapper import OptimWrapperConfig

SETTINGS: dict[str, dict[str, object]] = {
    "constant": {"factor": 0.5, "end": 4},
    "linear": {"start_factor": 0.2, "end": 5},
    "step": {"step_size": 2, "gamma": 0.5},
    "multi-step": {"milestones": (1, 3), "gamma": 0.5},
    "exponential": {"gamma": 0.8},
    "cosine-annealing": {"end": 6},
    "cosine-restart": {"periods": (3, 3), "restart_weights": (1.0, 0.5), "eta_min": 0.0},
    "poly": {"end": 6, "power": 2.0},
    "one-cycle": {"eta_max": 0.5, "end": 8},
    "reduce-on-plateau": {"patience": 0},
}
"""Settings under which each kind changes the value, by tag."""

FORMER_PREFIX = {
    "constant": "constant",
    "linear": "linear",
    "step": "step",
    "multi-step": "multistep",
    "exponential": "exponential",
    "cosine-annealing": "cosine",
    "cosine-restart": "cosine_restart",
    "poly": "poly",
    "one-cycle": "onecycle",
    "reduce-on-plateau": "plateau",
}
"""The tag prefix of each kind before the lr/momentum/param variants merged (``cosine_lr``, ...)."""

ADAPTER: TypeAdapter[ParamSchedulerConfig] = TypeAdapter(ParamSchedulerConfig)


def _members() -> list[type[BaseModel]]:
    union = typing.get_args(ParamSchedulerConfig)[0]
    return [typing.get_args(member)[0] for member in typing.get_args(union)]


def _tag(member: type[BaseModel]) -> str:
    tag = member.model_fields["type"].default
    assert isinstance(tag, str)
    return tag


def test_union_has_one_config_per_kind_with_a_param_field() -> None:
    members = _members()
    assert [_tag(m) for m in members] == list(SETTINGS)
    assert [m.__name__ for m in members] == [
        "ConstantSchedulerConfig",
        "LinearSchedulerConfig",
        "StepSchedulerConfig",
        "MultiStepSchedulerConfig",
        "ExponentialSchedulerConfig",
        "CosineAnnealingSchedulerConfig",
        "CosineRestartSchedulerConfig",
        "PolySchedulerConfig",
        "OneCycleSchedulerConfig",
        "ReduceOnPlateauSchedulerConfig",
    ]
    for member in members:
        field = member.model_fields["param"]
        assert field.default == "lr" and field.description


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


@pytest.mark.parametrize("tag", [t for t in SETTINGS if t != "one-cycle"])
def test_param_drives_momentum_and_any_key_like_lr(tag: str) -> None:
    reference = _run(ADAPTER.validate_python({"type": tag, **SETTINGS[tag]}), "lr")
    assert len(set(reference)) > 1, "the schedule should change the value"
    for key, base in (("momentum", 0.9), ("weight_decay", 0.1)):
        got = _run(ADAPTER.validate_python({"type": tag, "param": key, **SETTINGS[tag]}), key)
        for a, b in zip(got, reference):
            assert a == pytest.approx(b * base / 0.1, abs=1e-9)


@pytest.mark.parametrize("tag", list(SETTINGS))
def test_former_tags_load_as_the_merged_config(tag: str) -> None:
    prefix = FORMER_PREFIX[tag]
    current = ADAPTER.validate_python({"type": tag, **SETTINGS[tag]})
    former = ADAPTER.validate_python({"type": f"{prefix}_lr", **SETTINGS[tag]})
    assert former == current and former.type == tag and former.param == "lr"
    assert _run(former, "lr") == _run(current, "lr")
    assert ADAPTER.dump_python(former, mode="json")["type"] == tag  # output is always the current tag
    if tag == "one-cycle":
        return  # OneCycle had no momentum or generic variant
    momentum = ADAPTER.validate_python({"type": f"{prefix}_momentum", **SETTINGS[tag]})
    assert momentum.param == "momentum" and type(momentum) is type(current)
    generic = ADAPTER.validate_python(
        {"type": f"{prefix}_param", "param_name": "weight_decay", **SETTINGS[tag]}
    )
    assert generic.param == "weight_decay"
    assert ADAPTER.validate_python({"type": f"{prefix}_param", **SETTINGS[tag]}).param == "lr"


def test_snake_case_tags_are_accepted_on_input() -> None:
    cfg = ADAPTER.validate_json('{"type": "cosine_annealing", "param": "momentum"}')
    assert cfg.type == "cosine-annealing" and cfg.param == "momentum"
    assert ADAPTER.validate_python({"type": "reduce_on_plateau"}).type == "reduce-on-plateau"


def test_param_name_belongs_to_the_former_tags_only() -> None:
    with pytest.raises(ValidationError, match="param_name"):
        ADAPTER.validate_python({"type": "linear", "param_name": "weight_decay"})


def test_one_cycle_schedules_the_lr_only() -> None:
    # MMEngine's OneCycleParamScheduler asserts param_name == "lr" and has no momentum variant
    with pytest.raises(ValidationError, match="param"):
        ADAPTER.validate_python({"type": "one-cycle", "eta_max": 0.1, "param": "momentum"})
    assert OneCycleSchedulerConfig(eta_max=0.1).param == "lr"


def _plateau_run(cfg: ReduceOnPlateauSchedulerConfig, metrics: list[float]) -> list[float]:
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
    lrs = _plateau_run(ReduceOnPlateauSchedulerConfig(patience=1, factor=0.5, cooldown=1), METRICS)
    assert lrs == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.025], abs=1e-12)


def test_plateau_greater_rule_min_value_and_window() -> None:
    cfg = ReduceOnPlateauSchedulerConfig(
        monitor="acc", rule="greater", patience=1, factor=0.5, cooldown=1, min_value=0.03
    )
    assert _plateau_run(cfg, METRICS) == pytest.approx(
        [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.03], abs=1e-12
    )
    # begin=3: the validations after epochs 1 and 2 are outside the window and ignored
    late = ReduceOnPlateauSchedulerConfig(patience=0, factor=0.5, begin=3)
    assert _plateau_run(late, [1.0, 2.0, 3.0, 4.0]) == pytest.approx([0.1, 0.1, 0.1, 0.05], abs=1e-12)


def test_plateau_abs_threshold() -> None:
    cfg = ReduceOnPlateauSchedulerConfig(patience=0, factor=0.5, threshold=0.2, threshold_rule="abs")
    # 0.9 is not 0.2 below 1.0: bad; 0.7 is: good; 0.6 is not 0.2 below 0.7: bad
    assert _plateau_run(cfg, [1.0, 0.9, 0.7, 0.6]) == pytest.approx([0.1, 0.05, 0.05, 0.025], abs=1e-12)


def test_plateau_missing_monitor_and_by_epoch_only() -> None:
    wrapper = OptimWrapperConfig(optimizer=SGDConfig(lr=0.1)).build(torch.nn.Linear(2, 2))
    (sched,) = build_param_schedulers(
        [ReduceOnPlateauSchedulerConfig(monitor="mAP")], wrapper, epoch_length=1, max_epochs=5, max_iters=5
    )
    with pytest.raises(KeyError, match="mAP"):
        sched.step_with_metrics({"loss": 1.0})
    with pytest.raises(ValueError, match="by_epoch"):
        ReduceOnPlateauSchedulerConfig(by_epoch=False)


def test_plateau_momentum_on_adam_and_state_dict() -> None:
    wrapper = OptimWrapperConfig(optimizer=AdamConfig(betas=(0.9, 0.99))).build(torch.nn.Linear(2, 2))
    (sched,) = build_param_schedulers(
        [ReduceOnPlateauSchedulerConfig(param="momentum", patience=0, factor=0.5)],
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
