"""Every scheduler kind against its closed-form formula (derived independently of the chainable code),
chaining, epoch→iteration conversion, momentum/betas, generic params and state-dict resume."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import pytest
import torch

from typedengine.optim.optimizers import AdamConfig, SGDConfig
from typedengine.optim.schedulers.base import INF, ParamScheduler
from typedengine.optim.schedulers.choices import ParamSchedulerConfig, build_param_schedulers
from typedengine.optim.schedulers.cosine import (
    CosineAnnealingParamScheduler,
    CosineAnnealingSchedulerConfig,
    CosineRestartSchedulerConfig,
)
from typedengine.optim.schedulers.linear import LinearSchedulerConfig
from typedengine.optim.schedulers.one_cycle import OneCycleSchedulerConfig
from typedengine.optim.schedulers.simple import (
    ConstantSchedulerConfig,
    ExponentialSchedulerConfig,
    PolySchedulerConfig,
)
from typedengine.optim.schedulers.step import (
    MultiStepSchedulerConfig,
    StepParamScheduler,
    StepSchedulerConfig,
)
from typedengine.optim.wrapper import OptimWrapper, OptimWrapperConfig

TOL = 1e-9
BASE_LR = 0.1


def _wrapper(optimizer: SGDConfig | AdamConfig | None = None) -> OptimWrapper:
    torch.manual_seed(0)
    model = torch.nn.Linear(2, 2)
    return OptimWrapperConfig(
        optimizer=optimizer or SGDConfig(lr=BASE_LR, momentum=0.9, weight_decay=1e-2)
    ).build(model)


def _sequence(
    cfgs: Sequence[ParamSchedulerConfig],
    n: int,
    *,
    key: str = "lr",
    optimizer: SGDConfig | AdamConfig | None = None,
    epoch_length: int = 1,
    max_epochs: int = 1000,
    max_iters: int = 1000,
    by_epoch: bool = False,
) -> list[float]:
    """Values in use during steps 0..n-1 (read before each step, as a logger does)."""
    wrapper = _wrapper(optimizer)
    scheds = build_param_schedulers(
        cfgs, wrapper, epoch_length=epoch_length, max_epochs=max_epochs, max_iters=max_iters
    )
    out: list[float] = []
    for _ in range(n):
        group = wrapper.optimizer.param_groups[0]
        out.append(group["betas"][0] if key == "betas0" else group[key])
        for s in scheds:
            s.step()
    return out


def _assert_close(actual: Sequence[float], expected: Sequence[float]) -> None:
    assert len(actual) == len(expected)
    for i, (a, e) in enumerate(zip(actual, expected)):
        assert abs(a - e) <= TOL, f"step {i}: {a} != {e}"


def _windowed(begin: int, end: int, f: Callable[[int], float], n: int, base: float = BASE_LR) -> list[float]:
    """Closed form inside [begin, end); before: base; after: the last in-window value persists."""
    out = []
    for t in range(n):
        if t < begin:
            out.append(base)
        elif t < end:
            out.append(f(t - begin))
        else:
            out.append(f(end - 1 - begin))
    return out


# --- each kind vs its formula ------------------------------------------------------------------------
def test_linear_reaches_end_factor_at_end_minus_one() -> None:
    s, e, begin, end = 0.25, 1.0, 2, 7
    total = end - begin - 1
    expected = _windowed(begin, end, lambda k: BASE_LR * (s + (e - s) * k / total), 10)
    _assert_close(
        _sequence([LinearSchedulerConfig(start_factor=s, end_factor=e, begin=begin, end=end)], 10), expected
    )
    assert expected[end - 1] == pytest.approx(BASE_LR)


def test_linear_decreasing_factor() -> None:
    s, e, end = 1.0, 0.1, 6
    expected = _windowed(0, end, lambda k: BASE_LR * (s + (e - s) * k / (end - 1)), 9)
    _assert_close(_sequence([LinearSchedulerConfig(start_factor=s, end_factor=e, end=end)], 9), expected)


def test_step() -> None:
    expected = [BASE_LR * 0.5 ** (t // 3) for t in range(12)]
    _assert_close(_sequence([StepSchedulerConfig(step_size=3, gamma=0.5)], 12), expected)


def test_multistep_with_repeated_milestone_and_begin() -> None:
    milestones, begin = (2, 5, 5), 1
    expected = [
        BASE_LR * 0.1 ** sum(1 for m in milestones if t >= begin and t - begin >= m) for t in range(10)
    ]
    _assert_close(_sequence([MultiStepSchedulerConfig(milestones=milestones, begin=begin)], 10), expected)


def test_constant_restores_at_end_minus_one() -> None:
    factor, end = 0.5, 5
    expected = [BASE_LR * factor if t < end - 1 else BASE_LR for t in range(8)]
    _assert_close(_sequence([ConstantSchedulerConfig(factor=factor, end=end)], 8), expected)


def test_exponential() -> None:
    expected = _windowed(0, 6, lambda k: BASE_LR * 0.9**k, 9)
    _assert_close(_sequence([ExponentialSchedulerConfig(gamma=0.9, end=6)], 9), expected)


@pytest.mark.parametrize("eta_min", [0.0, 0.01])
def test_cosine_annealing(eta_min: float) -> None:
    begin, end = 1, 11
    t_max = end - begin

    def f(k: int) -> float:
        return eta_min + (BASE_LR - eta_min) * (1 + math.cos(math.pi * k / t_max)) / 2

    expected = _windowed(begin, end, f, 14)
    _assert_close(
        _sequence([CosineAnnealingSchedulerConfig(begin=begin, end=end, eta_min=eta_min)], 14), expected
    )


def test_cosine_eta_min_ratio_and_t_max_beyond_half_period() -> None:
    # T_max shorter than the window: the value comes back up along the cosine (the special branch).
    t_max, ratio = 4, 0.1
    eta_min = BASE_LR * ratio

    def f(k: int) -> float:
        return eta_min + (BASE_LR - eta_min) * (1 + math.cos(math.pi * k / t_max)) / 2

    expected = [f(k) for k in range(12)]
    _assert_close(
        _sequence([CosineAnnealingSchedulerConfig(T_max=t_max, eta_min_ratio=ratio, end=100)], 12), expected
    )


def test_poly() -> None:
    eta_min, power, end = 0.001, 2.0, 9
    total = end - 1
    expected = _windowed(0, end, lambda k: eta_min + (BASE_LR - eta_min) * (1 - k / total) ** power, 12)
    _assert_close(_sequence([PolySchedulerConfig(eta_min=eta_min, power=power, end=end)], 12), expected)


def test_cosine_restart() -> None:
    periods, weights, eta_min = (3, 4), (1.0, 0.5), 0.01
    expected = []
    for t in range(9):
        if t < 3:
            cycle, s = 0, t
        elif t < 7:
            cycle, s = 1, t - 3
        else:
            expected.append(expected[-1])  # after the last period the value is left alone
            continue
        top = BASE_LR * weights[cycle]
        expected.append(eta_min + (top - eta_min) * (1 + math.cos(math.pi * s / periods[cycle])) / 2)
    cfg = CosineRestartSchedulerConfig(periods=periods, restart_weights=weights, eta_min=eta_min)
    _assert_close(_sequence([cfg], 9), expected)


@pytest.mark.parametrize("three_phase", [False, True])
@pytest.mark.parametrize("strategy", ["cos", "linear"])
def test_one_cycle_matches_torch(three_phase: bool, strategy: str) -> None:
    n = 20
    cfg = OneCycleSchedulerConfig(eta_max=0.5, anneal_strategy=strategy, three_phase=three_phase, end=n)  # type: ignore[arg-type]
    ours = _sequence([cfg], n)
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=BASE_LR)
    ref = torch.optim.lr_scheduler.OneCycleLR(
        opt,
        max_lr=0.5,
        total_steps=n,
        anneal_strategy=strategy,
        three_phase=three_phase,
        cycle_momentum=False,
    )
    expected = []
    for _ in range(n):
        expected.append(opt.param_groups[0]["lr"])
        opt.step()
        ref.step() if len(expected) < n else None
    _assert_close(ours, expected)


def test_values_outside_the_window_are_untouched_and_last_value_persists() -> None:
    seq = _sequence([StepSchedulerConfig(step_size=1, gamma=0.5, begin=3, end=5)], 8)
    _assert_close(seq, [BASE_LR] * 4 + [BASE_LR * 0.5] * 4)


# --- chaining ---------------------------------------------------------------------------------------
def test_warmup_then_cosine() -> None:
    warm, n, s, eta_min = 5, 25, 0.001, 1e-4
    t_max = n - warm
    expected = []
    for t in range(n):
        if t < warm:
            expected.append(BASE_LR * (s + (1 - s) * t / (warm - 1)))
        else:
            k = t - warm
            expected.append(eta_min + (BASE_LR - eta_min) * (1 + math.cos(math.pi * k / t_max)) / 2)
    cfgs = [
        LinearSchedulerConfig(start_factor=s, end=warm, by_epoch=False),
        CosineAnnealingSchedulerConfig(begin=warm, eta_min=eta_min, by_epoch=False),
    ]
    _assert_close(_sequence(cfgs, n, max_iters=n), expected)


def test_overlapping_multiplicative_schedulers_compound() -> None:
    s, end = 0.2, 6
    expected = [
        BASE_LR * (s + (1 - s) * min(t, end - 1) / (end - 1)) * 0.5 ** (1 if t >= 2 else 0) * 0.9**t
        for t in range(10)
    ]
    cfgs = [
        LinearSchedulerConfig(start_factor=s, end=end),
        MultiStepSchedulerConfig(milestones=(2,), gamma=0.5),
        ExponentialSchedulerConfig(gamma=0.9),
    ]
    _assert_close(_sequence(cfgs, 10, max_epochs=100), expected)


# --- end filling and conversion -----------------------------------------------------------------------
def test_unset_end_is_the_run_length() -> None:
    wrapper = _wrapper()
    by_epoch, by_iter = build_param_schedulers(
        [CosineAnnealingSchedulerConfig(), CosineAnnealingSchedulerConfig(by_epoch=False)],
        wrapper,
        epoch_length=7,
        max_epochs=4,
        max_iters=28,
    )
    assert (by_epoch.end, by_epoch.by_epoch) == (4, True)
    assert (by_iter.end, by_iter.by_epoch) == (28, False)


def test_convert_to_iter_based_scales_every_epoch_setting() -> None:
    length = 3
    cfgs = [
        LinearSchedulerConfig(start_factor=0.5, end=2, convert_to_iter_based=True),
        MultiStepSchedulerConfig(milestones=(3,), gamma=0.1, begin=2, convert_to_iter_based=True),
    ]
    wrapper = _wrapper()
    scheds = build_param_schedulers(cfgs, wrapper, epoch_length=length, max_epochs=5, max_iters=15)
    assert [(s.begin, s.end, s.by_epoch) for s in scheds] == [(0, 6, False), (6, 15, False)]
    seq = []
    for _ in range(15):
        seq.append(wrapper.optimizer.param_groups[0]["lr"])
        for s in scheds:
            s.step()
    total = 2 * length - 1
    expected = [
        BASE_LR * (0.5 + 0.5 * min(t, total) / total) * (0.1 if t >= 6 + 3 * length else 1) for t in range(15)
    ]
    _assert_close(seq, expected)


def test_convert_cosine_t_max_and_restart_periods() -> None:
    wrapper = _wrapper()
    cos, step = build_param_schedulers(
        [
            CosineAnnealingSchedulerConfig(T_max=2, convert_to_iter_based=True),
            StepSchedulerConfig(step_size=2, convert_to_iter_based=True),
        ],
        wrapper,
        epoch_length=5,
        max_epochs=4,
        max_iters=20,
    )
    assert isinstance(cos, CosineAnnealingParamScheduler) and isinstance(step, StepParamScheduler)
    assert cos.T_max == 10 and step.step_size == 10 and cos.end == 20


# --- momentum and generic params ------------------------------------------------------------------------
def test_momentum_on_sgd() -> None:
    expected = [0.9 * 0.5 ** (t // 2) for t in range(6)]
    _assert_close(
        _sequence([StepSchedulerConfig(param="momentum", step_size=2, gamma=0.5)], 6, key="momentum"),
        expected,
    )


def test_momentum_on_adam_writes_betas0() -> None:
    adam = AdamConfig(lr=BASE_LR, betas=(0.9, 0.99))
    end = 5
    expected = _windowed(0, end, lambda k: 0.9 * (0.5 + 0.5 * k / (end - 1)), 7, base=0.9)
    seq = _sequence(
        [LinearSchedulerConfig(param="momentum", start_factor=0.5, end=end)], 7, key="betas0", optimizer=adam
    )
    _assert_close(seq, expected)
    wrapper = _wrapper(adam)
    build_param_schedulers(
        [CosineAnnealingSchedulerConfig(param="momentum", end=4)],
        wrapper,
        epoch_length=1,
        max_epochs=4,
        max_iters=4,
    )
    assert wrapper.optimizer.param_groups[0]["betas"][1] == 0.99
    assert wrapper.get_momentum()["momentum"] == [wrapper.optimizer.param_groups[0]["momentum"]]


def test_constant_momentum_keeps_betas_in_sync() -> None:
    adam = AdamConfig(lr=BASE_LR, betas=(0.8, 0.99))
    seq = _sequence(
        [ConstantSchedulerConfig(param="momentum", factor=0.5, end=3)], 5, key="betas0", optimizer=adam
    )
    _assert_close(seq, [0.4, 0.4, 0.8, 0.8, 0.8])


def test_generic_param_schedulers_drive_weight_decay() -> None:
    wd, end = 1e-2, 6
    expected = _windowed(0, end, lambda k: wd * (1 - k / (end - 1)) ** 1.0, 8, base=wd)
    _assert_close(
        _sequence([PolySchedulerConfig(param="weight_decay", end=end)], 8, key="weight_decay"), expected
    )
    expected_lin = _windowed(0, 4, lambda k: wd * (0.5 + 0.5 * k / 3), 6, base=wd)
    _assert_close(
        _sequence(
            [LinearSchedulerConfig(param="weight_decay", start_factor=0.5, end=4)], 6, key="weight_decay"
        ),
        expected_lin,
    )


def test_missing_param_key_is_a_clear_error() -> None:
    with pytest.raises(KeyError, match="no 'nope'"):
        _sequence([CosineAnnealingSchedulerConfig(param="nope", end=3)], 1)


def test_momentum_scheduler_on_an_optimizer_without_momentum() -> None:
    wrapper = OptimWrapper(torch.optim.Adagrad([torch.nn.Parameter(torch.zeros(1))], lr=0.1))
    with pytest.raises(ValueError, match="neither momentum nor betas"):
        build_param_schedulers(
            [StepSchedulerConfig(param="momentum", step_size=1)],
            wrapper,
            epoch_length=1,
            max_epochs=2,
            max_iters=2,
        )


# --- resume -------------------------------------------------------------------------------------------
def _resume_run(cfgs: Sequence[ParamSchedulerConfig], n: int, cut: int) -> tuple[list[float], list[float]]:
    def fresh() -> tuple[OptimWrapper, list[ParamScheduler]]:
        wrapper = _wrapper(SGDConfig(lr=BASE_LR, momentum=0.9))
        return wrapper, build_param_schedulers(cfgs, wrapper, epoch_length=1, max_epochs=n, max_iters=n)

    def run(wrapper: OptimWrapper, scheds: list[ParamScheduler], steps: int) -> list[float]:
        out = []
        for _ in range(steps):
            out.append(wrapper.optimizer.param_groups[0]["lr"])
            for s in scheds:
                s.step()
        return out

    wrapper, scheds = fresh()
    uninterrupted = run(wrapper, scheds, n)
    wrapper, scheds = fresh()
    first = run(wrapper, scheds, cut)
    opt_state = wrapper.state_dict()
    sched_states = [s.state_dict() for s in scheds]
    wrapper2, scheds2 = fresh()  # constructing applies step 0 again: loading must override it
    wrapper2.load_state_dict(opt_state)
    for s, st in zip(scheds2, sched_states):
        s.load_state_dict(st)
    return uninterrupted, first + run(wrapper2, scheds2, n - cut)


@pytest.mark.parametrize("cut", [1, 4, 7])
def test_state_dict_round_trip_continues_the_same_sequence(cut: int) -> None:
    cfgs: list[ParamSchedulerConfig] = [
        LinearSchedulerConfig(start_factor=0.1, end=3),
        CosineAnnealingSchedulerConfig(begin=3, eta_min=1e-3),
        MultiStepSchedulerConfig(milestones=(5,), gamma=0.5),
    ]
    uninterrupted, resumed = _resume_run(cfgs, 10, cut)
    _assert_close(resumed, uninterrupted)


def test_state_dict_is_plain_data_for_weights_only_loading(tmp_path: object) -> None:
    import io

    wrapper = _wrapper()
    scheds = build_param_schedulers(
        [MultiStepSchedulerConfig(milestones=(1, 1)), OneCycleSchedulerConfig(eta_max=0.2, by_epoch=False)],
        wrapper,
        epoch_length=2,
        max_epochs=3,
        max_iters=6,
    )
    buf = io.BytesIO()
    torch.save({"s": [s.state_dict() for s in scheds], "o": wrapper.state_dict()}, buf)
    buf.seek(0)
    loaded = torch.load(buf, weights_only=True)
    assert loaded["s"][0]["last_step"] == 0


def test_default_end_is_inf_for_runtime_classes() -> None:
    s = StepParamScheduler(_wrapper(), "lr", step_size=1)
    assert s.end == INF and s.get_last_value() == [BASE_LR]
