"""OptimWrapperDict and auto_scale_lr."""

from __future__ import annotations

import pytest
import torch
from pydantic import ValidationError
from torch import nn

from typedengine.optim.amp import AmpOptimWrapperConfig
from typedengine.optim.auto_scale_lr import AutoScaleLRConfig, scale_lr
from typedengine.optim.optimizers import AdamConfig, SGDConfig
from typedengine.optim.param_groups import ParamwiseConfig
from typedengine.optim.schedulers.choices import build_param_schedulers
from typedengine.optim.schedulers.linear import LinearSchedulerConfig
from typedengine.optim.wrapper import OptimWrapper, OptimWrapperConfig
from typedengine.optim.wrapper_dict import OptimWrapperDict, OptimWrapperDictConfig


class GAN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.generator = nn.Linear(2, 4)
        self.discriminator = nn.Sequential(nn.Linear(4, 1))


def _dict_cfg() -> OptimWrapperDictConfig:
    return OptimWrapperDictConfig(
        wrappers={
            "generator": OptimWrapperConfig(optimizer=AdamConfig(lr=2e-4, betas=(0.5, 0.999))),
            "discriminator": AmpOptimWrapperConfig(
                optimizer=SGDConfig(lr=0.01, momentum=0.9), dtype="bfloat16"
            ),
        }
    )


def test_build_over_submodules_and_names() -> None:
    model = GAN()
    wrappers = _dict_cfg().build(model)
    assert set(wrappers) == {"generator", "discriminator"} and len(wrappers) == 2
    gen_params = {id(p) for g in wrappers["generator"].optimizer.param_groups for p in g["params"]}
    assert gen_params == {id(p) for p in model.generator.parameters()}
    assert wrappers.get_lr() == {"generator.lr": [2e-4], "discriminator.lr": [0.01]}
    assert wrappers.get_momentum() == {"generator.momentum": [0.5], "discriminator.momentum": [0.9]}


def test_dict_refuses_joint_updates_and_zeroes_all() -> None:
    model = GAN()
    wrappers = _dict_cfg().build(model)
    loss = model.discriminator(model.generator(torch.ones(1, 2))).sum()
    for call in (
        lambda: wrappers.update_params(loss),
        lambda: wrappers.backward(loss),
        lambda: wrappers.step(),
    ):
        with pytest.raises(NotImplementedError):
            call()
    loss.backward()
    wrappers.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_state_dict_nests_per_name() -> None:
    model = GAN()
    wrappers = _dict_cfg().build(model)
    wrappers["generator"].update_params(model.discriminator(model.generator(torch.ones(3, 2))).mean())
    state = wrappers.state_dict()
    assert set(state) == {"generator", "discriminator"}
    other = _dict_cfg().build(GAN())
    other.load_state_dict(state)
    assert other["generator"].optimizer.state_dict()["state"].keys() == state["generator"]["state"].keys()
    with pytest.raises(KeyError):
        other.load_state_dict({"generator": state["generator"]})


def test_missing_submodule_is_a_clear_error() -> None:
    cfg = OptimWrapperDictConfig(wrappers={"critic": OptimWrapperConfig()})
    with pytest.raises(
        ValueError, match=r"optim_wrapper.wrappers.critic: the model has no submodule 'critic'"
    ):
        cfg.build(GAN())
    with pytest.raises(ValidationError, match="at least one"):
        OptimWrapperDictConfig(wrappers={})


def test_dict_needs_optim_wrappers() -> None:
    with pytest.raises(TypeError):
        OptimWrapperDict(a=torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=0.1))  # type: ignore[arg-type]


def test_schedulers_are_built_per_wrapper() -> None:
    wrappers = _dict_cfg().build(GAN())
    scheds = build_param_schedulers(
        [LinearSchedulerConfig(start_factor=0.5, end=3, by_epoch=False)],
        wrappers,
        epoch_length=1,
        max_epochs=3,
        max_iters=3,
    )
    assert len(scheds) == 2
    assert wrappers.get_lr() == {"generator.lr": [1e-4], "discriminator.lr": [0.005]}


def test_scale_lr_multiplies_every_group_and_returns_the_factor() -> None:
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    wrapper = OptimWrapperConfig(
        optimizer=SGDConfig(lr=0.1), paramwise=ParamwiseConfig(bias_lr_mult=2.0)
    ).build(model)
    factor = scale_lr(wrapper, batch_size=32, world_size=4, base_batch_size=256)
    assert factor == 0.5
    assert wrapper.get_lr() == {"base_lr": [0.05], "lr": pytest.approx([0.05, 0.1, 0.05, 0.1])}
    assert scale_lr(wrapper, batch_size=32, world_size=4, base_batch_size=256, accumulative_counts=2) == 1.0
    dict_wrappers = _dict_cfg().build(GAN())
    assert scale_lr(dict_wrappers, batch_size=8, world_size=1, base_batch_size=4) == 2.0
    assert dict_wrappers.get_lr()["generator.lr"] == [4e-4]
    assert AutoScaleLRConfig(base_batch_size=16).enable is False
    with pytest.raises(ValueError):
        scale_lr(wrapper, batch_size=0, world_size=1, base_batch_size=1)


def test_plain_wrapper_is_an_optim_wrapper() -> None:
    assert isinstance(_dict_cfg().build(GAN())["generator"], OptimWrapper)
