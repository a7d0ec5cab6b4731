"""BaseModel.parse_losses: the sum of keys containing "loss", every entry logged."""

from __future__ import annotations

import pytest
import torch

from typedengine.model.base import BaseModel


def test_parse_losses_sums_loss_keys_and_logs_everything() -> None:
    a, b = torch.tensor(1.5, requires_grad=True), torch.tensor([0.5, 1.5], requires_grad=True)
    acc = torch.tensor(0.75)
    loss, log_vars = BaseModel.parse_losses({"loss_a": a, "loss_b": b, "acc": acc})
    assert torch.equal(loss.detach(), torch.tensor(2.5))  # 1.5 + mean(0.5, 1.5)
    assert list(log_vars) == ["loss", "loss_a", "loss_b", "acc"]
    assert torch.equal(log_vars["acc"], acc)
    loss.backward()
    assert a.grad is not None and float(a.grad) == 1.0


def test_parse_losses_list_of_tensors_is_summed() -> None:
    loss, log_vars = BaseModel.parse_losses({"loss_aux": [torch.tensor(1.0), torch.tensor([2.0, 4.0])]})
    assert float(loss) == 4.0
    assert float(log_vars["loss_aux"]) == 4.0


def test_parse_losses_without_loss_key_is_an_error() -> None:
    with pytest.raises(ValueError, match="no key containing 'loss'"):
        BaseModel.parse_losses({"acc": torch.tensor(1.0)})


class _Net(BaseModel):
    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(4, 2)

    def forward(self, x: torch.Tensor, y: torch.Tensor, mode: str = "tensor") -> object:  # type: ignore[override]
        logits = self.fc(x)
        if mode == "loss":
            return {"loss": torch.nn.functional.cross_entropy(logits, y)}
        return logits, y


def test_steps_call_forward_directly_but_honour_module_hooks() -> None:
    from typedengine.optim.wrapper import OptimWrapper

    net = _Net()
    wrapper = OptimWrapper(torch.optim.SGD(net.parameters(), lr=0.1))
    batch = [torch.randn(8, 4), torch.randint(0, 2, (8,))]
    seen: list[str] = []
    net.train_step(batch, wrapper)  # no hooks: the fast path
    net.data_preprocessor.register_forward_hook(lambda m, a, out: seen.append("preprocessor"))
    net.register_forward_pre_hook(lambda m, a: seen.append("model"))
    net.train_step(batch, wrapper)
    net.val_step(batch)
    assert seen == ["preprocessor", "model", "preprocessor", "model"]
    handle = torch.nn.modules.module.register_module_forward_hook(lambda m, a, out: seen.append(type(m).__name__))
    try:
        seen.clear()
        net.val_step(batch)
    finally:
        handle.remove()
    assert "BaseDataPreprocessor" in seen and "_Net" in seen  # global hooks too


def test_preprocessor_returns_a_batch_already_on_the_device_unchanged() -> None:
    net = _Net()
    batch = [torch.randn(2, 4), torch.tensor([0, 1])]
    assert net.data_preprocessor(batch, True) is batch
    mixed = {"x": torch.randn(2, 4), "meta": "text"}
    out = net.data_preprocessor(mixed, True)
    assert out == {"x": mixed["x"], "meta": "text"}  # other values pass through the general path
