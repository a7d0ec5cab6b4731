"""OptimWrapper: accumulation equivalence and remainder semantics, clipping, no_sync, introspection."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator

import pytest
import torch
from torch import nn

from typedengine.optim.grad_clip import ClipGradByNorm, ClipGradNormConfig, ClipGradValueConfig
from typedengine.optim.optimizers import AdamWConfig, SGDConfig
from typedengine.optim.param_groups import ParamwiseConfig
from typedengine.optim.wrapper import OptimWrapper, OptimWrapperConfig


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 1))


def test_accumulating_4x16_equals_one_batch_of_64() -> None:
    torch.manual_seed(1)
    x, y = torch.randn(64, 8), torch.randn(64, 1)
    big, small = _model(), _model()
    cfg = OptimWrapperConfig(optimizer=SGDConfig(lr=0.1, momentum=0.9))
    w_big = cfg.build(big)
    w_small = OptimWrapperConfig(optimizer=SGDConfig(lr=0.1, momentum=0.9), accumulative_counts=4).build(
        small
    )
    w_small.initialize_count_status(small, init_counts=0, max_counts=8)
    for _ in range(2):  # two optimizer steps
        w_big.update_params(nn.functional.mse_loss(big(x), y))
        for chunk in range(4):
            sl = slice(16 * chunk, 16 * (chunk + 1))
            w_small.update_params(nn.functional.mse_loss(small(x[sl]), y[sl]))
    for a, b in zip(big.parameters(), small.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)
    assert all(p.grad is None for p in small.parameters())  # zeroed after the window's step


class _Recorder(torch.optim.SGD):
    def __init__(self, params: Iterator[nn.Parameter]) -> None:
        super().__init__(params, lr=0.0)
        self.step_calls = 0

    def step(self, closure: object = None) -> None:  # type: ignore[override]  # record only
        self.step_calls += 1


def test_remainder_window_divides_by_the_remainder() -> None:
    # acc=4 over 10 iterations: steps after iterations 4, 8, 10; losses /4 for 0..7 and /2 for 8, 9.
    model = nn.Linear(1, 1)
    opt = _Recorder(model.parameters())
    wrapper = OptimWrapper(opt, accumulative_counts=4)
    wrapper.initialize_count_status(model, init_counts=0, max_counts=10)
    divisors, steps_after = [], []
    for it in range(10):
        scaled = wrapper.scale_loss(torch.tensor(1.0))
        divisors.append(round(1 / float(scaled)))
        before = opt.step_calls
        wrapper.update_params(model(torch.ones(1, 1)).sum())
        if opt.step_calls > before:
            steps_after.append(it + 1)
    assert divisors == [4] * 8 + [2] * 2
    assert steps_after == [4, 8, 10]


def test_counts_are_global_across_a_resume() -> None:
    model = nn.Linear(1, 1)
    opt = _Recorder(model.parameters())
    wrapper = OptimWrapper(opt, accumulative_counts=3)
    wrapper.initialize_count_status(model, init_counts=6, max_counts=11)  # resumed after 6 iterations
    divisors, steps_after = [], []
    for it in range(6, 11):
        divisors.append(round(1 / float(wrapper.scale_loss(torch.tensor(1.0)))))
        before = opt.step_calls
        wrapper.update_params(model(torch.ones(1, 1)).sum())
        if opt.step_calls > before:
            steps_after.append(it + 1)
    assert divisors == [3, 3, 3, 2, 2]
    assert steps_after == [9, 11]


def test_resume_mid_window_is_reported_and_batchnorm_warns(caplog: pytest.LogCaptureFixture) -> None:
    model = nn.Sequential(nn.Linear(1, 1), nn.BatchNorm1d(1))
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1), accumulative_counts=4)
    with caplog.at_level("INFO", logger="typedengine"):
        wrapper.initialize_count_status(model, init_counts=5, max_counts=20)
    infos = [r.getMessage() for r in caplog.records if r.levelname == "INFO"]
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("inside an accumulation window of 4" in m for m in infos)
    assert any("BatchNorm" in m for m in warnings)


class _FakeDDP(nn.Module):
    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner
        self.no_sync_entries = 0

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        self.no_sync_entries += 1
        yield


def test_optim_context_skips_sync_while_accumulating() -> None:
    inner = nn.Linear(1, 1)
    ddp = _FakeDDP(inner)
    wrapper = OptimWrapper(torch.optim.SGD(inner.parameters(), lr=0.1), accumulative_counts=3)
    wrapper.initialize_count_status(ddp, init_counts=0, max_counts=7)
    synced = []
    for _ in range(7):
        before = ddp.no_sync_entries
        with wrapper.optim_context(ddp):
            loss = inner(torch.ones(1, 1)).sum()
        synced.append(ddp.no_sync_entries == before)
        wrapper.update_params(loss)
    # windows end after iterations 3, 6 and 7 (the remainder): those backward passes all-reduce
    assert synced == [False, False, True, False, False, True, True]


def test_clip_by_norm_equals_torch_and_logs_a_device_tensor() -> None:
    torch.manual_seed(3)
    x = torch.randn(32, 8) * 10
    a, b = _model(), _model()
    wa = OptimWrapperConfig(
        optimizer=SGDConfig(lr=0.05), clip_grad=ClipGradNormConfig(max_norm=0.5, norm_type=2.0)
    ).build(a)
    opt_b = torch.optim.SGD(b.parameters(), lr=0.05)
    for _ in range(3):
        wa.update_params(a(x).pow(2).mean())
        b(x).pow(2).mean().backward()
        expected_norm = torch.nn.utils.clip_grad_norm_(list(b.parameters()), 0.5, norm_type=2.0)
        opt_b.step()
        opt_b.zero_grad()
        logged = wa.log_scalars()["grad_norm"]
        assert isinstance(logged, torch.Tensor) and logged.dim() == 0
        torch.testing.assert_close(logged, expected_norm)
    for pa, pb in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(pa, pb)


def test_clip_by_value() -> None:
    model = nn.Linear(4, 1)
    wrapper = OptimWrapperConfig(
        optimizer=SGDConfig(lr=0.0), clip_grad=ClipGradValueConfig(clip_value=0.01)
    ).build(model)
    wrapper.backward((model(torch.full((2, 4), 100.0)) ** 2).sum())
    wrapper.step()
    assert all(float(p.grad.abs().max()) <= 0.01 + 1e-12 for p in model.parameters() if p.grad is not None)
    assert wrapper.log_scalars() == {}


def test_clip_skips_params_without_grad() -> None:
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    model[1].requires_grad_(False)
    wrapper = OptimWrapper(
        torch.optim.SGD(model.parameters(), lr=0.1), clip_grad=ClipGradByNorm(max_norm=1.0)
    )
    wrapper.update_params(model(torch.ones(1, 2)).sum())
    assert "grad_norm" in wrapper.log_scalars()


def test_get_lr_momentum_and_base_lr_with_several_groups() -> None:
    model = _model()
    single = OptimWrapperConfig(optimizer=SGDConfig(lr=0.1, momentum=0.8)).build(model)
    assert single.get_lr() == {"lr": [0.1]}
    assert single.get_momentum() == {"momentum": [0.8]}
    multi = OptimWrapperConfig(
        optimizer=AdamWConfig(lr=0.01, betas=(0.7, 0.9)), paramwise=ParamwiseConfig(bias_lr_mult=2.0)
    ).build(model)
    lr = multi.get_lr()
    assert lr["base_lr"] == [0.01]
    assert lr["lr"] == [0.01, 0.02, 0.01, 0.02]
    assert multi.get_momentum()["momentum"] == [0.7] * 4
    assert len(multi.param_groups) == 5  # the four groups plus the base-settings pseudo group


def test_state_dict_round_trip_restores_optimizer_state() -> None:
    model = _model()
    wrapper = OptimWrapperConfig(
        optimizer=AdamWConfig(lr=0.01), paramwise=ParamwiseConfig(flat_decay_mult=0.0)
    ).build(model)
    for _ in range(2):
        wrapper.update_params(model(torch.randn(4, 8)).sum())
    state = copy.deepcopy(wrapper.state_dict())
    assert "base_param_settings" in state
    model2 = copy.deepcopy(model)
    wrapper2 = OptimWrapperConfig(
        optimizer=AdamWConfig(lr=0.5), paramwise=ParamwiseConfig(flat_decay_mult=0.0)
    ).build(model2)
    wrapper2.load_state_dict(state)
    assert wrapper2.get_lr() == wrapper.get_lr()
    x = torch.randn(4, 8)
    wrapper.update_params(model(x).sum())
    wrapper2.update_params(model2(x).sum())
    for a, b in zip(model.parameters(), model2.parameters()):
        torch.testing.assert_close(a, b)


def test_invalid_accumulative_counts() -> None:
    with pytest.raises(ValueError):
        OptimWrapper(torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=0.1), accumulative_counts=0)
