"""Optimizer configs build the torch class with their settings; the import-path escape hatch validates early."""

from __future__ import annotations

import inspect

import pytest
import torch
from pydantic import TypeAdapter, ValidationError

from typedengine.optim.optimizers import (
    AdadeltaConfig,
    AdagradConfig,
    AdamaxConfig,
    AdamConfig,
    AdamWConfig,
    ImportedOptimizerConfig,
    NAdamConfig,
    OptimizerConfig,
    RAdamConfig,
    RMSpropConfig,
    SGDConfig,
)

ALL = [
    SGDConfig,
    AdamConfig,
    AdamWConfig,
    RMSpropConfig,
    AdagradConfig,
    AdadeltaConfig,
    AdamaxConfig,
    NAdamConfig,
    RAdamConfig,
]


@pytest.mark.parametrize("cls", ALL)
def test_defaults_equal_torch_defaults_and_build(cls: type) -> None:
    cfg = cls()
    torch_cls = getattr(torch.optim, cfg.torch_class)
    sig = inspect.signature(torch_cls)
    for name, value in cfg.torch_kwargs().items():
        assert name in sig.parameters, f"{name} is not a {torch_cls.__name__} argument"
        default = sig.parameters[name].default
        assert value == default, f"{cls.__name__}.{name}: {value} != torch default {default}"
    opt = cfg.build([torch.nn.Parameter(torch.zeros(2))])
    assert type(opt) is torch_cls
    assert opt.defaults["lr"] == cfg.lr


def test_union_dispatches_on_type_and_rejects_unknown() -> None:
    adapter: TypeAdapter[OptimizerConfig] = TypeAdapter(OptimizerConfig)
    cfg = adapter.validate_python({"type": "adamw", "lr": 3e-4, "betas": [0.8, 0.95]})
    assert isinstance(cfg, AdamWConfig) and cfg.betas == (0.8, 0.95)
    with pytest.raises(ValidationError):
        adapter.validate_python({"type": "lion"})
    with pytest.raises(ValidationError):
        adapter.validate_python({"type": "sgd", "lr": -1})
    with pytest.raises(ValidationError):
        adapter.validate_python({"type": "adam", "betas": [1.5, 0.9]})


def test_sgd_nesterov_needs_momentum() -> None:
    with pytest.raises(ValidationError, match="nesterov"):
        SGDConfig(nesterov=True)
    assert (
        SGDConfig(nesterov=True, momentum=0.9)
        .build([torch.nn.Parameter(torch.zeros(1))])
        .defaults["nesterov"]
    )


def test_imported_optimizer_builds_with_kwargs() -> None:
    cfg = ImportedOptimizerConfig(target="torch.optim.ASGD", kwargs={"lr": 0.05, "lambd": 1e-3})
    opt = cfg.build([torch.nn.Parameter(torch.zeros(1))])
    assert isinstance(opt, torch.optim.ASGD) and opt.defaults["lambd"] == 1e-3
    assert cfg.base_hyperparameters() == (0.05, 0.0)
    adam = ImportedOptimizerConfig(target="torch.optim.Adam", kwargs={"betas": [0.5, 0.9]})
    assert adam.build([torch.nn.Parameter(torch.zeros(1))]).defaults["betas"] == (0.5, 0.9)
    assert adam.base_hyperparameters() == (0.001, 0.0)  # lr from the signature default


@pytest.mark.parametrize(
    ("target", "kwargs", "message"),
    [
        ("torch.optim.SGD", {"lr": 0.1, "lamd": 1.0}, "unexpected keyword argument 'lamd'"),
        ("torch.optim.NoSuch", {}, "has no attribute 'NoSuch'"),
        ("no_such_module.Opt", {}, "cannot import module"),
        ("torch.nn.Linear", {}, "not a torch.optim.Optimizer subclass"),
        ("SGD", {}, "not a dotted import path"),
    ],
)
def test_imported_optimizer_errors_at_config_time(
    target: str, kwargs: dict[str, float], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        ImportedOptimizerConfig(target=target, kwargs=kwargs)


def test_json_round_trip_and_hash() -> None:
    cfg = ImportedOptimizerConfig(target="torch.optim.Adam", kwargs={"lr": 0.1, "amsgrad": True})
    again = ImportedOptimizerConfig.model_validate_json(cfg.model_dump_json())
    assert again == cfg and hash(again) == hash(cfg)
