"""AmpOptimWrapper: bf16 autocast trains on CPU; fp16 needs a GPU (clear errors); GradScaler state."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from typedengine.optim.amp import AmpOptimWrapper, AmpOptimWrapperConfig
from typedengine.optim.checks import check_optim_wrapper
from typedengine.optim.grad_clip import ClipGradNormConfig
from typedengine.optim.optimizers import SGDConfig
from typedengine.optim.wrapper import OptimWrapperConfig

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


def _data() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(256, 10, generator=g)
    w = torch.randn(10, 3, generator=g)
    return x, (x @ w).argmax(dim=1)


def test_bf16_trains_a_tiny_classifier_on_cpu() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 3))
    wrapper = AmpOptimWrapperConfig(
        optimizer=SGDConfig(lr=0.5, momentum=0.9),
        dtype="bfloat16",
        clip_grad=ClipGradNormConfig(max_norm=5.0),
    ).build(model)
    assert isinstance(wrapper, AmpOptimWrapper) and wrapper.loss_scaler is None
    x, y = _data()
    losses = []
    for _ in range(60):
        with wrapper.optim_context(model):
            logits = model(x)
            assert logits.dtype == torch.bfloat16  # autocast is active
            loss = nn.functional.cross_entropy(logits.float(), y)
        wrapper.update_params(loss)
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.3 * losses[0]
    accuracy = float((model(x).argmax(1) == y).float().mean())
    assert accuracy > 0.9
    assert "grad_norm" in wrapper.log_scalars()


def test_default_dtype_on_cpu_is_bf16() -> None:
    wrapper = AmpOptimWrapperConfig().build(nn.Linear(2, 2))
    assert wrapper.cast_dtype == torch.bfloat16 and wrapper.device_type == "cpu"


def test_fp16_on_cpu_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="float16 mixed precision needs a GPU"):
        AmpOptimWrapperConfig(dtype="float16").build(nn.Linear(2, 2))
    issues = check_optim_wrapper(AmpOptimWrapperConfig(dtype="float16"), device_type="cpu")
    assert [i.path for i in issues] == ["optim_wrapper.dtype"]
    assert "bfloat16" in issues[0].message
    assert check_optim_wrapper(AmpOptimWrapperConfig(dtype="float16"), device_type="cuda") == []
    assert check_optim_wrapper(AmpOptimWrapperConfig(dtype="bfloat16"), device_type="cpu") == []
    assert check_optim_wrapper(OptimWrapperConfig(), device_type="cpu") == []
    assert check_optim_wrapper(None, device_type="cpu") == []


def test_static_loss_scale_must_be_positive() -> None:
    with pytest.raises(ValueError):
        AmpOptimWrapperConfig(loss_scale=-1.0)


@cuda
def test_fp16_dynamic_scaler_state_round_trip() -> None:
    model = nn.Linear(4, 1).cuda()
    wrapper = AmpOptimWrapperConfig(dtype="float16", clip_grad=ClipGradNormConfig(max_norm=1.0)).build(model)
    assert wrapper.loss_scaler is not None
    for _ in range(3):
        with wrapper.optim_context(model):
            loss = model(torch.randn(8, 4, device="cuda")).float().pow(2).mean()
        wrapper.update_params(loss)
    state = wrapper.state_dict()
    assert "loss_scaler" in state and state["loss_scaler"]["scale"] > 0
    other = AmpOptimWrapperConfig(dtype="float16").build(nn.Linear(4, 1).cuda())
    other.load_state_dict(state)
    assert other.loss_scaler is not None and other.loss_scaler.get_scale() == wrapper.loss_scaler.get_scale()


@cuda
def test_fp16_static_scale_stays_fixed() -> None:
    model = nn.Linear(4, 1).cuda()
    wrapper = AmpOptimWrapperConfig(dtype="float16", loss_scale=512.0).build(model)
    for _ in range(3):
        with wrapper.optim_context(model):
            loss = model(torch.randn(8, 4, device="cuda")).float().pow(2).mean()
        wrapper.update_params(loss)
    assert wrapper.loss_scaler is not None and wrapper.loss_scaler.get_scale() == 512.0
