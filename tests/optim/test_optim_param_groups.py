"""Paramwise rules: a golden table of each parameter's lr and weight decay on a conv + batchnorm model."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from typedengine.optim.optimizers import AdamWConfig, ImportedOptimizerConfig, SGDConfig
from typedengine.optim.param_groups import CustomKeyRule, ParamwiseConfig
from typedengine.optim.wrapper import OptimWrapperConfig

BASE_LR, BASE_WD = 0.1, 0.01


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.dw = nn.Conv2d(4, 4, 3, groups=4)
        self.bn = nn.BatchNorm2d(4)
        self.head = nn.Linear(4, 2)
        self.ab_ba = nn.Linear(2, 2)
        self.pos = nn.Parameter(torch.zeros(4))
        self.frozen = nn.Linear(2, 2)
        self.frozen.requires_grad_(False)


RULES = ParamwiseConfig(
    custom_keys={
        "head": CustomKeyRule(lr_mult=0.1, decay_mult=0.5),
        "head.bias": CustomKeyRule(lr_mult=3.0),  # longer key wins
        "ab": CustomKeyRule(lr_mult=4.0),  # same length as "ba": alphabetical order wins
        "ba": CustomKeyRule(lr_mult=5.0),
    },
    bias_lr_mult=2.0,
    bias_decay_mult=0.0,
    norm_decay_mult=0.25,
    dwconv_decay_mult=0.5,
    flat_decay_mult=0.3,
)

# name: (lr, weight_decay) — written out by hand from the rules in the module docstring
GOLDEN = {
    "pos": (0.1, 0.003),  # root 1-D parameter: flat_decay_mult
    "conv.weight": (0.1, 0.01),  # no rule applies
    "conv.bias": (0.2, 0.0),  # bias_lr_mult, bias_decay_mult
    "dw.weight": (0.1, 0.005),  # depth-wise conv
    "dw.bias": (0.2, 0.0),  # the bias rule comes before the dwconv rule
    "bn.weight": (0.1, 0.0025),  # norm_decay_mult
    "bn.bias": (0.1, 0.0025),  # norm biases keep the base lr
    "head.weight": (0.01, 0.005),  # custom key "head"
    "head.bias": (0.3, 0.01),  # custom key "head.bias" (decay_mult defaults to 1)
    "ab_ba.weight": (0.4, 0.01),  # custom "ab" beats "ba"
    "ab_ba.bias": (0.4, 0.01),  # custom keys override the bias rules
}


def _named_groups(model: nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, tuple[float, float]]:
    names = {id(p): n for n, p in model.named_parameters()}
    out = {}
    for group in optimizer.param_groups:
        (param,) = group["params"]
        out[names[id(param)]] = (group["lr"], group["weight_decay"])
    return out


def test_golden_table() -> None:
    model = Net()
    wrapper = OptimWrapperConfig(
        optimizer=SGDConfig(lr=BASE_LR, weight_decay=BASE_WD, momentum=0.9), paramwise=RULES
    ).build(model)
    got = _named_groups(model, wrapper.optimizer)
    assert set(got) == set(GOLDEN)  # one group per trainable parameter; frozen ones skipped
    for name, (lr, wd) in GOLDEN.items():
        assert got[name][0] == pytest.approx(lr, abs=1e-12), name
        assert got[name][1] == pytest.approx(wd, abs=1e-12), name


def test_no_rules_means_one_group_with_frozen_params() -> None:
    model = Net()
    wrapper = OptimWrapperConfig(optimizer=SGDConfig(lr=BASE_LR)).build(model)
    assert len(wrapper.optimizer.param_groups) == 1
    assert len(wrapper.optimizer.param_groups[0]["params"]) == len(list(model.parameters()))


def test_empty_rules_still_split_groups_and_keep_base_values() -> None:
    model = Net()
    wrapper = OptimWrapperConfig(
        optimizer=AdamWConfig(lr=BASE_LR, weight_decay=BASE_WD), paramwise=ParamwiseConfig()
    ).build(model)
    assert all(v == (BASE_LR, BASE_WD) for v in _named_groups(model, wrapper.optimizer).values())


def test_bypass_duplicate() -> None:
    model = Net()
    model.tied = nn.Linear(4, 2)
    model.tied.weight = model.head.weight
    with pytest.raises(ValueError, match="more than one parameter group"):
        OptimWrapperConfig(paramwise=ParamwiseConfig()).build(model)
    wrapper = OptimWrapperConfig(paramwise=ParamwiseConfig(bypass_duplicate=True)).build(model)
    assert len(wrapper.optimizer.param_groups) == len(GOLDEN) + 1  # tied.bias only


def test_decay_rules_need_a_weight_decay() -> None:
    model = nn.Linear(2, 2)
    cfg = OptimWrapperConfig(
        optimizer=ImportedOptimizerConfig(target="torch.optim.Adadelta", kwargs={"lr": 1.0}),
        paramwise=ParamwiseConfig(bias_decay_mult=0.0),
    )
    # Adadelta has weight_decay (default 0): fine, decays scale 0
    assert _named_groups(model, cfg.build(model).optimizer)["bias"] == (1.0, 0.0)
    no_wd = OptimWrapperConfig(
        optimizer=ImportedOptimizerConfig(target="torch.optim.LBFGS", kwargs={"lr": 1.0}),
        paramwise=ParamwiseConfig(bias_decay_mult=0.0),
    )
    with pytest.raises(ValueError, match="no weight_decay"):
        no_wd.build(model)
