"""RunnerConfig: the root of an experiment's config tree, with its cross-field checks.

An experiment subclasses it and narrows the open fields (model, datasets, metrics) to concrete types::

    class DigitsExperiment(RunnerConfig):
        model: DigitsNetConfig = DigitsNetConfig()
        train_dataloader: DataLoaderConfig[DigitsData] | None = DataLoaderConfig[DigitsData](dataset=DigitsData())
        train: TrainLoopConfig | None = EpochBasedTrainLoopConfig(max_epochs=10)
        optim_wrapper: OptimWrapperUnion | None = OptimWrapperConfig(optimizer=SGDConfig(lr=0.1))

Every problem the root can see before anything is built is reported at once, each with its path.
Field names are MMEngine's, except the loop configs: ``train``/``val``/``test`` (MMEngine's
``train_cfg``/``val_cfg``/``test_cfg``), so the command line reads ``--train.max-epochs``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

import tyro
from pydantic import Field, model_validator

from ..config.base import Config
from ..config.errors import ConfigIssue, ConfigProblems
from ..data.dataloader import DataLoaderConfig
from ..data.dataset import DatasetConfig
from ..distributed.env import Launcher, launch_problem
from ..evaluation.choices import BuiltinMetricConfig
from ..evaluation.evaluator import EvaluatorConfig
from ..hooks.choices import DefaultHooksConfig, HookList
from ..logs.processor import LogProcessorConfig
from ..logs.visualizer import VisualizerConfig
from ..loops.choices import TrainLoopConfig
from ..loops.evaluation import TestLoopConfig, ValLoopConfig
from ..model.config import ModelConfig
from ..model.preprocessor import DataPreprocessorConfig
from ..model.wrapping import DDPConfig, ModelWrapperConfig
from ..optim.auto_scale_lr import AutoScaleLRConfig
from ..optim.choices import OptimWrapperUnion
from ..optim.schedulers.choices import ParamSchedulerConfig
from .compile import CompileConfig
from .env import EnvConfig, resolve_device_type
from .randomness import RandomnessConfig
from .schedule import RunSchedule
from .schedule_checks import schedule_issues

__all__ = ["RunnerConfig"]


class RunnerConfig(Config):
    """Everything a run needs. Subclass it and narrow ``model`` (and the dataloaders' dataset types)."""

    model: ModelConfig = Field(description="The model (narrow this field to your ModelConfig subclass).")
    work_dir: Path = Field(Path("work_dirs/exp"), description="Directory for checkpoints and logs.")
    experiment_name: str | None = Field(
        None, description="Name of the run (default: the timestamp); logs go to work_dir/<timestamp>/."
    )
    train_dataloader: DataLoaderConfig[DatasetConfig] | None = Field(None, description="Training data.")
    val_dataloader: DataLoaderConfig[DatasetConfig] | None = Field(None, description="Validation data.")
    test_dataloader: DataLoaderConfig[DatasetConfig] | None = Field(None, description="Test data.")
    train: TrainLoopConfig | None = Field(None, description="Training loop (epoch- or iteration-based).")
    val: ValLoopConfig = Field(ValLoopConfig(), description="Validation loop options.")
    test: TestLoopConfig = Field(TestLoopConfig(), description="Test loop options.")
    optim_wrapper: OptimWrapperUnion | None = Field(None, description="Optimizer and how it steps.")
    param_scheduler: tuple[ParamSchedulerConfig, ...] = Field((), description="Parameter schedulers, chained.")
    auto_scale_lr: Annotated[AutoScaleLRConfig, tyro.conf.subcommand("auto-scale-lr")] | None = Field(
        None, description="Scale the LR by (batch size x world size) / base_batch_size."
    )
    val_evaluator: Annotated[EvaluatorConfig[BuiltinMetricConfig], tyro.conf.subcommand("evaluator")] | None = Field(
        None, description="Validation metrics."
    )
    test_evaluator: Annotated[EvaluatorConfig[BuiltinMetricConfig], tyro.conf.subcommand("evaluator")] | None = Field(
        None, description="Test metrics."
    )
    default_hooks: DefaultHooksConfig = Field(DefaultHooksConfig(), description="The default hooks (named slots).")
    custom_hooks: HookList = Field((), description="Extra hooks, as a JSON list on the command line.")
    data_preprocessor: DataPreprocessorConfig | None = Field(
        None, description="Replaces the model's data preprocessor when set."
    )
    model_wrapper: ModelWrapperConfig = Field(
        DDPConfig(), description="How the model is wrapped when distributed (world size > 1); 'none' never wraps."
    )
    load_from: Path | None = Field(None, description="Checkpoint whose weights initialise the model (no resume).")
    resume: bool | Path = Field(
        False, description="True: resume from the latest checkpoint in work_dir; a path: resume from it."
    )
    resume_force: bool = Field(False, description="Resume even when the config changed in a way that is unsafe.")
    launcher: Launcher = Field(
        "auto",
        description=(
            "How the processes were started: auto (torchrun's or srun's variables decide), pytorch (torchrun), "
            "slurm (srun) or none (one process; refused when torchrun or srun started several)."
        ),
    )
    env: EnvConfig = Field(EnvConfig(), description="Device, threads and process-group settings.")
    log_processor: LogProcessorConfig = Field(LogProcessorConfig(), description="How log lines are smoothed.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Console log level.")
    visualizer: VisualizerConfig = Field(VisualizerConfig(), description="Where scalars and images are written.")
    randomness: RandomnessConfig = Field(RandomnessConfig(), description="Seed and determinism.")
    compile: Annotated[CompileConfig, tyro.conf.subcommand("torch-compile")] | None = Field(
        None,
        description="torch.compile the model's forward before training (None: eager; --compile.disable turns it off).",
    )

    @model_validator(mode="after")
    def _cross_field(self) -> RunnerConfig:
        issues = cross_field_issues(self)
        if issues:
            raise ConfigProblems(issues)
        return self


def _all_or_none(issues: list[ConfigIssue], parts: dict[str, object], what: str) -> None:
    given = [name for name, v in parts.items() if v is not None]
    if given and len(given) != len(parts):
        missing = [name for name in parts if name not in given]
        issues.append(
            ConfigIssue(missing[0], f"{what} needs {', '.join(parts)} together; {', '.join(missing)} missing")
        )


def cross_field_issues(cfg: RunnerConfig) -> list[ConfigIssue]:
    """Every cross-field problem of ``cfg`` (empty when consistent)."""
    from ..hooks.ema import EMAHookConfig
    from ..logs.visualizer import check_visualizer
    from ..model.fsdp import FSDPConfig
    from ..model.wrapping import check_model_wrapper
    from ..optim.checks import check_optim_wrapper, check_param_schedulers

    issues: list[ConfigIssue] = []
    _all_or_none(
        issues,
        {"train_dataloader": cfg.train_dataloader, "train": cfg.train, "optim_wrapper": cfg.optim_wrapper},
        "training",
    )
    _all_or_none(issues, {"val_dataloader": cfg.val_dataloader, "val_evaluator": cfg.val_evaluator}, "validation")
    _all_or_none(issues, {"test_dataloader": cfg.test_dataloader, "test_evaluator": cfg.test_evaluator}, "testing")
    if cfg.param_scheduler and cfg.optim_wrapper is None:
        issues.append(ConfigIssue("param_scheduler", "schedulers need an optim_wrapper"))
    if (launch := launch_problem(cfg.launcher, os.environ)) is not None:  # N copies in one work dir, or a hang
        issues.append(ConfigIssue("launcher", launch))

    # resolving "auto" imports torch (CUDA probe): only do it when a device-dependent feature is configured
    device_type = resolve_device_type(cfg.env.device) if _device_matters(cfg) else "cpu"
    if cfg.optim_wrapper is not None:
        issues.extend(check_optim_wrapper(cfg.optim_wrapper, device_type=device_type))
    issues.extend(check_model_wrapper(cfg.model_wrapper, device_type=device_type))
    if isinstance(cfg.model_wrapper, FSDPConfig):  # EMA keeps unsharded copies of the weights
        ema_paths = [f"custom_hooks[{i}]" for i, h in enumerate(cfg.custom_hooks) if isinstance(h, EMAHookConfig)]
        if cfg.default_hooks.ema is not None:
            ema_paths.insert(0, "default_hooks.ema")
        issues.extend(ConfigIssue(path, "the EMA hook does not support model_wrapper fsdp yet") for path in ema_paths)
    issues.extend(check_visualizer(cfg.visualizer))
    if cfg.compile is not None:
        from .compile import check_compile

        issues.extend(check_compile(cfg.compile, path="compile"))

    metric_keys: frozenset[str] | None = None
    if cfg.val_evaluator is not None:
        keys = cfg.val_evaluator.metric_keys()
        metric_keys = keys if keys else None
    schedule = RunSchedule.from_config(cfg)
    if schedule is not None and cfg.param_scheduler:
        issues.extend(
            check_param_schedulers(
                cfg.param_scheduler,
                by_epoch_run=schedule.by_epoch,
                max_epochs=schedule.max_epochs if schedule.by_epoch else None,
                max_iters=schedule.max_iters,
                epoch_length=schedule.epoch_length,
                metric_keys=metric_keys if cfg.val_evaluator is not None else frozenset(),
            )
        )
    seen = {issue.path for issue in issues}
    issues.extend(issue for issue in schedule_issues(cfg) if issue.path not in seen)
    return issues


def _device_matters(cfg: RunnerConfig) -> bool:
    """Whether any check depends on the device: AMP wrappers, SyncBatchNorm, or an explicit device."""
    from ..optim.amp import AmpOptimWrapperConfig
    from ..optim.wrapper_dict import OptimWrapperDictConfig

    if cfg.env.device != "auto":
        return True
    wrappers: list[object] = [cfg.optim_wrapper]
    if isinstance(cfg.optim_wrapper, OptimWrapperDictConfig):
        wrappers = list(cfg.optim_wrapper.wrappers.values())
    if any(isinstance(w, AmpOptimWrapperConfig) for w in wrappers):
        return True
    mw = cfg.model_wrapper
    return isinstance(mw, DDPConfig) and mw.sync_bn
