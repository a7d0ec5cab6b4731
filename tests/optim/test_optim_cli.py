"""The optimization configs on the command line (tyro): union switching, JSON dict arguments, round trips."""

from __future__ import annotations

import pytest
import tyro
from pydantic import Field

from typedengine.config.base import Config
from typedengine.optim.amp import AmpOptimWrapperConfig
from typedengine.optim.choices import OptimWrapperUnion
from typedengine.optim.optimizers import AdamWConfig, ImportedOptimizerConfig, SGDConfig
from typedengine.optim.param_groups import CustomKeyRule, ParamwiseConfig
from typedengine.optim.schedulers.choices import ParamSchedulerConfig
from typedengine.optim.schedulers.linear import LinearSchedulerConfig
from typedengine.optim.schedulers.step import MultiStepSchedulerConfig
from typedengine.optim.wrapper import OptimWrapperConfig
from typedengine.optim.wrapper_dict import OptimWrapperDictConfig


class Root(Config):
    optim_wrapper: OptimWrapperUnion | None = Field(
        default_factory=lambda: OptimWrapperConfig(optimizer=SGDConfig(lr=0.05, weight_decay=1e-4)),
        description="Optimizer.",
    )
    param_scheduler: tuple[ParamSchedulerConfig, ...] = Field(
        (LinearSchedulerConfig(by_epoch=False, end=10), MultiStepSchedulerConfig(milestones=(3,))),
        description="Schedulers.",
    )


def _cli(*args: str) -> Root:
    return tyro.cli(Root, args=list(args), config=(tyro.conf.CascadeSubcommandArgs,))


def test_switching_the_optimizer_leaves_nothing_of_sgd_behind() -> None:
    cfg = _cli("optim-wrapper.optimizer:adamw", "--optim-wrapper.optimizer.lr", "1e-3")
    assert isinstance(cfg.optim_wrapper, OptimWrapperConfig)
    assert cfg.optim_wrapper.optimizer == AdamWConfig(lr=1e-3)


def test_wrapper_kinds_and_scheduler_fields() -> None:
    cfg = _cli(
        "optim-wrapper:amp", "--optim-wrapper.dtype", "bfloat16", "--param-scheduler.1.milestones", "4", "6"
    )
    assert isinstance(cfg.optim_wrapper, AmpOptimWrapperConfig) and cfg.optim_wrapper.dtype == "bfloat16"
    assert cfg.param_scheduler[1] == MultiStepSchedulerConfig(milestones=(4, 6))
    assert isinstance(_cli("optim-wrapper:dict").optim_wrapper, OptimWrapperDictConfig)
    assert _cli("optim-wrapper:None").optim_wrapper is None


def test_json_arguments_for_open_dicts() -> None:
    cfg = _cli(
        "optim-wrapper.optimizer:import",
        "--optim-wrapper.optimizer.target",
        "torch.optim.ASGD",
        "--optim-wrapper.optimizer.kwargs",
        '{"lr": 0.1, "lambd": 0.001}',
        "optim-wrapper.paramwise:paramwise-config",
        "--optim-wrapper.paramwise.custom-keys",
        '{"backbone": {"lr_mult": 0.1}}',
    )
    assert isinstance(cfg.optim_wrapper, OptimWrapperConfig)
    assert cfg.optim_wrapper.optimizer == ImportedOptimizerConfig(
        target="torch.optim.ASGD", kwargs={"lr": 0.1, "lambd": 0.001}
    )
    assert cfg.optim_wrapper.paramwise == ParamwiseConfig(
        custom_keys={"backbone": CustomKeyRule(lr_mult=0.1)}
    )


def test_bad_kwargs_fail_at_parse_time(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        _cli("optim-wrapper.optimizer:import", "--optim-wrapper.optimizer.kwargs", '{"lr": 0.1, "lamd": 1}')
    assert "lamd" in capsys.readouterr().err


def test_json_round_trip_keeps_every_member() -> None:
    cfg = Root(
        optim_wrapper=OptimWrapperDictConfig(
            wrappers={
                "g": AmpOptimWrapperConfig(optimizer=ImportedOptimizerConfig(target="torch.optim.Adam")),
                "d": OptimWrapperConfig(
                    paramwise=ParamwiseConfig(custom_keys={"x": CustomKeyRule(decay_mult=0)})
                ),
            }
        )
    )
    again = Root.model_validate_json(cfg.model_dump_json())
    assert again == cfg and hash(again) == hash(cfg)
