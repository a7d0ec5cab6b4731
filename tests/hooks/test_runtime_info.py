"""RuntimeInfoHook: lr, step outputs, optimizer scalars and metrics reach the message hub (no sync)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.logs.fake_runner import FakeRunner
from typedengine.hooks.priority import Priority
from typedengine.hooks.runtime_info import RuntimeInfoHook, RuntimeInfoHookConfig


class WrapperDict:
    def get_lr(self) -> dict[str, list[float]]:
        return {"gen.lr": [0.1, 0.2], "disc.lr": [0.3]}

    def log_scalars(self) -> dict[str, torch.Tensor]:
        return {"gen.grad_norm": torch.tensor(2.0)}


def test_pushes_lr_outputs_and_optimizer_scalars(tmp_path: Path) -> None:
    runner = FakeRunner(tmp_path)
    assert runner.optim_wrapper is not None
    runner.optim_wrapper.scalars = {"grad_norm": torch.tensor(3.5)}
    hook = RuntimeInfoHookConfig().build()
    assert hook.priority == Priority.VERY_HIGH
    hook.before_train(runner)  # type: ignore[arg-type]
    hook.before_train_iter(runner, 0)  # type: ignore[arg-type]
    loss = torch.tensor(0.75, requires_grad=True) * 1.0
    outputs = {"loss": loss, "loss_cls": torch.tensor(0.5), "acc": 1.0, "preds": torch.ones(4), "name": "x"}
    hook.after_train_iter(runner, 0, outputs=outputs)  # type: ignore[arg-type]
    hub = runner.message_hub
    assert set(hub.scalar_keys()) == {
        "train/lr",
        "train/loss",
        "train/loss_cls",
        "train/acc",
        "train/grad_norm",
    }
    assert hub.get_scalar("train/loss")._pending  # kept as a device tensor, not synced
    assert hub.get_scalar("train/lr").current() == 1e-3
    assert hub.get_scalar("train/loss").current() == pytest.approx(0.75)
    assert hub.get_scalar("train/grad_norm").current() == 3.5
    assert hub.get_info("by_epoch") is True and hub.get_info("max_epochs") == 2 and hub.get_info("iter") == 0


def test_wrapper_dict_lr_keys(tmp_path: Path) -> None:
    runner = FakeRunner(tmp_path)
    runner.optim_wrapper = WrapperDict()  # type: ignore[assignment]
    hook = RuntimeInfoHook()
    hook.before_train_iter(runner, 0)  # type: ignore[arg-type]
    hook.after_train_iter(runner, 0, outputs={})  # type: ignore[arg-type]
    hub = runner.message_hub
    assert hub.get_scalar("train/gen.lr").current() == 0.1  # first param group
    assert hub.get_scalar("train/disc.lr").current() == 0.3
    assert hub.get_scalar("train/gen.grad_norm").current() == 2.0


def test_metrics_go_under_their_mode(tmp_path: Path) -> None:
    runner = FakeRunner(tmp_path)
    hook = RuntimeInfoHook()
    hook.after_val_epoch(runner, {"accuracy": 35.7, "loss": 1.5})  # type: ignore[arg-type]
    hook.after_test_epoch(runner, {"accuracy": 36.0})  # type: ignore[arg-type]
    hub = runner.message_hub
    assert hub.get_scalar("val/accuracy").current() == 35.7
    assert hub.get_scalar("val/loss").current() == 1.5
    assert hub.get_scalar("test/accuracy").current() == 36.0


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_no_host_sync_between_log_intervals_on_cuda(tmp_path: Path) -> None:
    from tests.logs.fake_runner import FakeClock, run_train
    from typedengine.hooks.check_invalid_loss import CheckInvalidLossHook
    from typedengine.hooks.ema import EMAHook
    from typedengine.hooks.logger import LoggerHook
    from typedengine.hooks.timer import IterTimerHook

    model = torch.nn.Linear(8, 8).cuda()
    runner = FakeRunner(tmp_path, train_len=30, max_epochs=1, model=model)
    runner.device = torch.device("cuda")
    assert runner.optim_wrapper is not None
    runner.optim_wrapper.scalars = {"grad_norm": torch.ones((), device="cuda")}
    for hook in (
        RuntimeInfoHook(),
        IterTimerHook(FakeClock()),
        LoggerHook(interval_iters=10, progress=False),
        EMAHook(momentum=0.1),
        CheckInvalidLossHook(interval_iters=10),
    ):
        runner.register_hook(hook)

    def step(r: FakeRunner, idx: int) -> dict[str, object]:
        # every iteration except the log/check ones must run with syncs forbidden
        torch.cuda.set_sync_debug_mode(0 if (idx + 1) % 10 == 0 else "error")
        return {"loss": model(torch.ones(4, 8, device="cuda")).pow(2).mean().detach()}

    try:
        run_train(runner, FakeClock(), step)
    finally:
        torch.cuda.set_sync_debug_mode(0)
    # reaching here means no hook synchronised outside the log interval (sync debug mode raises)
    assert any(line.startswith("Epoch(train) [1][30/30]") and "memory: " in line for line in runner.lines)
