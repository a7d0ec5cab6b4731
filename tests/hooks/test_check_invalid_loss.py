"""CheckInvalidLossHook: errors name the first bad iteration; the skip policy leaves weights untouched."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from torch import nn

from tests.logs.fake_runner import FakeClock, FakeRunner, losses, run_train
from typedengine.hooks.check_invalid_loss import CheckInvalidLossHook, CheckInvalidLossHookConfig


def test_raise_names_the_first_bad_iteration_at_the_next_check(tmp_path: Path) -> None:
    seq = [1.0] * 6 + [float("nan"), float("inf")] + [1.0] * 12  # iteration 7 (1-based) is the first bad one
    runner = FakeRunner(tmp_path, train_len=20, max_epochs=1)
    hook = CheckInvalidLossHookConfig(interval_iters=5).build()
    runner.register_hook(hook)
    with pytest.raises(FloatingPointError, match=r"became nan at iteration 7 \(checked every 5 iterations\)"):
        run_train(runner, FakeClock(), losses(seq))
    assert runner.state.iter == 9  # raised during iteration 10, the first check after the bad one


def test_finite_losses_pass_and_end_of_epoch_checks(tmp_path: Path) -> None:
    runner = FakeRunner(tmp_path, train_len=7, max_epochs=1)
    runner.register_hook(CheckInvalidLossHook(interval_iters=50))
    run_train(runner, FakeClock(), losses([1.0] * 7))
    runner2 = FakeRunner(tmp_path / "b", train_len=7, max_epochs=1)
    runner2.register_hook(CheckInvalidLossHook(interval_iters=50))
    with pytest.raises(FloatingPointError, match="iteration 3"):
        run_train(runner2, FakeClock(), losses([1.0, 1.0, float("-inf"), 1.0, 1.0, 1.0, 1.0]))


@dataclass
class Wrapper:
    optimizer: torch.optim.Optimizer

    def get_lr(self) -> dict[str, list[float]]:
        return {"lr": [0.1]}

    def log_scalars(self) -> dict[str, torch.Tensor]:
        return {}


def test_skip_policy_drops_non_finite_steps(tmp_path: Path) -> None:
    model = nn.Linear(2, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    runner = FakeRunner(tmp_path, train_len=5, max_epochs=1, model=model)
    runner.optim_wrapper = Wrapper(optimizer)  # type: ignore[assignment]
    hook = CheckInvalidLossHookConfig(policy="skip").build()
    runner.register_hook(hook)
    weights: list[torch.Tensor] = []

    def step(r: FakeRunner, idx: int) -> dict[str, object]:
        x = torch.ones(4, 2)
        loss = model(x).pow(2).mean() * (float("nan") if idx == 2 else 1.0)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        weights.append(model.weight.detach().clone())
        return {"loss": loss.detach()}

    run_train(runner, FakeClock(), step)
    assert hook.skipped_iters == [3]
    assert torch.equal(weights[2], weights[1])  # the NaN step changed nothing
    assert not torch.equal(weights[3], weights[2])  # training went on
    assert torch.isfinite(model.weight).all()
    assert any("optimizer step skipped" in line for line in runner.lines)
    assert not optimizer._optimizer_step_pre_hooks  # removed after training
