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
