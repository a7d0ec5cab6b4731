"""RunnerConfig: the root of an experiment's config tree, with its cross-field checks.

An experiment subclasses it and narrows the open fields (model, datasets, metrics) to concrete types::

    class DigitsExperiment(RunnerConfig):
        model: DigitsNetConfig = DigitsNetConfig()
        train_dataloader: DataLoaderConfig[DigitsData] | None = DataLoaderConfig[DigitsData](dataset=DigitsData())
        train: TrainLoopConfig | None = EpochBasedTrainLoopConfig(max_epochs=10)
        optim_wrapper: OptimWrapperUnion | None = OptimWrapperConfig(optimizer=SGDConfig(lr=0.1))

Every problem the root can see before anything is built is reported at once, each with its path:
field constraints (pydantic), then one validation pass, :func:`cross_field_issues`, a flat list of checks
each owned by the module that knows the rule. With the validation context :data:`CHECK_FILESYSTEM` set
(``te.cli()`` and ``Runner.from_config`` set it) the same pass also checks ``work_dir``, ``load_from``
and ``resume`` on disk; without it a config stays portable data that loads anywhere. The Runner runs the
part of the pass that applies to built objects (:func:`~typedengine.runner.validation.part_issues`) on what it was given in the seed's
style, before it creates anything.

A field of a subclass whose name is close to an inherited one (``visualiser`` for ``visualizer``) is
refused when the class is defined: it would silently become a new field and leave the inherited one at
its default. Mark a deliberate new field with :data:`NewField`::

    class Exp(RunnerConfig):
        visualiser_note: Annotated[str, NewField] = "kept apart from visualizer on purpose"

A redefined field without its own description keeps the inherited one (``--help``, JSON Schema).

Field names are MMEngine's, except the loop configs: ``train``/``val``/``test`` (MMEngine's
``train_cfg``/``val_cfg``/``test_cfg``), so the command line reads ``--train.max-epochs``.
"""

from __future__ import annotations

import difflib
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal

import tyro
from pydantic import Field, ValidationInfo, field_validator, model_validator

from ..config.base import Config
from ..config.errors import ConfigError, ConfigIssue, ConfigProblems
from ..config.paths import CHECK_FILESYSTEM
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
from .env import EnvConfig
from .randomness import RandomnessConfig
from .schedule import RunSchedule
from .schedule_checks import schedule_issues
from .validation import RunParts, part_issues, path_problem

if TYPE_CHECKING:
    from ..evaluation.metric import MetricConfig

__all__ = ["CHECK_FILESYSTEM", "NewField", "RunnerConfig", "cross_field_issues"]



class _NewFieldMarker:
    """The type of :data:`NewField`."""

    def __repr__(self) -> str:
        return "NewField"


NewField: Final = _NewFieldMarker()
"""Marks a field of a RunnerConfig subclass as deliberately new: ``note: Annotated[str, NewField] = ""``.

Without it, a new field whose name is close to an inherited one is refused as a probable misspelling.
"""


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
    if TYPE_CHECKING:
        # mypy sees the open base, so an experiment may narrow the field to its own metric configs
        # (``val_evaluator: te.EvaluatorConfig[MyMetricConfig] | None = ...``, a subtype); validation,
        # the CLI and the JSON round trip of this class itself use the built-in metrics below
        val_evaluator: EvaluatorConfig[MetricConfig] | None = None
        test_evaluator: EvaluatorConfig[MetricConfig] | None = None
    else:
        val_evaluator: Annotated[EvaluatorConfig[BuiltinMetricConfig], tyro.conf.subcommand("evaluator")] | None = (
            Field(None, description="Validation metrics.")
        )
        test_evaluator: Annotated[EvaluatorConfig[BuiltinMetricConfig], tyro.conf.subcommand("evaluator")] | None = (
            Field(None, description="Test metrics.")
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

    @field_validator("work_dir", mode="before")
    @classmethod
    def _work_dir_given(cls, value: object) -> object:
        # checked before Path() turns "" into "." (which would train into the current directory)
        if isinstance(value, str) and not value.strip():
            raise ValueError("must not be empty (it would write into the current directory; give '.' to mean that)")
        return value

    @field_validator("work_dir", "load_from", "resume", mode="after")
    @classmethod
    def _usable_path(cls, value: object, info: ValidationInfo) -> object:
        # with the filesystem context (a run about to start), checked as field errors: reported together
        # with every other invalid value, not only once all fields are valid
        if isinstance(info.context, Mapping) and info.context.get(CHECK_FILESYSTEM) and info.field_name:
            problem = path_problem(info.field_name, value)
            if problem is not None:
                raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _cross_field(self, info: ValidationInfo) -> RunnerConfig:
        issues = cross_field_issues(self)  # the paths were checked as fields (above)
        if issues:
            raise ConfigProblems(issues)
        return self

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        inherited = _inherited_fields(cls)
        _keep_inherited_descriptions(cls, inherited)
        issues = _misspelled_field_issues(cls, inherited)
        if issues:
            error = ConfigError(issues, f"class {cls.__qualname__}")
            from ..config.script import note_script_mistake

            note_script_mistake(error, cls, f"class {cls.__qualname__}", sys._getframe(1))
            raise error


def _inherited_fields(cls: type[RunnerConfig]) -> dict[str, Any]:
    """Field name -> FieldInfo of every RunnerConfig base of ``cls`` (nearest base first)."""
    found: dict[str, Any] = {}
    for base in cls.__mro__[1:]:
        if isinstance(base, type) and issubclass(base, RunnerConfig):
            for name, info in base.model_fields.items():
                found.setdefault(name, info)
    return found


def _keep_inherited_descriptions(cls: type[RunnerConfig], inherited: Mapping[str, Any]) -> None:
    """A redefined field (``work_dir: Path = Path("runs")``) keeps the description of the field it replaces.

    tyro reads ``model_fields`` for ``--help``; the JSON Schema reads it too (see ``config/schema.py``).
    """
    for name, info in cls.model_fields.items():
        parent = inherited.get(name)
        if info.description is None and parent is not None and parent.description is not None:
            info.description = parent.description


def _comparable(name: str) -> str:
    return name.replace("_", "").lower()


def _misspelled_field_issues(cls: type[RunnerConfig], inherited: Mapping[str, Any]) -> list[ConfigIssue]:
    """New fields of ``cls`` that look like misspelled inherited ones (unless marked with :data:`NewField`)."""
    issues: list[ConfigIssue] = []
    names = list(inherited)
    for name, info in cls.model_fields.items():
        if name in inherited or any(meta is NewField for meta in info.metadata):
            continue
        same = [n for n in names if _comparable(n) == _comparable(name)]
        close = same or difflib.get_close_matches(name, names, n=1, cutoff=0.8)
        if close:
            issues.append(
                ConfigIssue(
                    name,
                    f"not a {RunnerConfig.__name__} field; did you mean `{close[0]}`? (as a new field it would "
                    f"leave `{close[0]}` at its default; mark a deliberate one `Annotated[..., te.NewField]`)",
                )
            )
    return issues


def cross_field_issues(cfg: RunnerConfig) -> list[ConfigIssue]:
    """Every cross-field problem of ``cfg`` (empty when consistent): a flat list of check calls.

    The rules that also apply to built objects live in :func:`~typedengine.runner.validation.part_issues`
    (the Runner runs those on its arguments); a rule that needs the whole root config (the run's schedule)
    goes here. Path fields are checked on disk by their own validator (with :data:`CHECK_FILESYSTEM`).
    """
    from ..optim.checks import check_param_schedulers

    issues: list[ConfigIssue] = []
    issues.extend(part_issues(RunParts.of(cfg), filesystem=False))
    if (launch := launch_problem(cfg.launcher, os.environ)) is not None:  # N copies in one work dir, or a hang
        issues.append(ConfigIssue("launcher", launch))

    if cfg.train is not None:  # save_best and early-stopping monitors the validation must produce
        from ..evaluation.rules import check_metric_monitors

        validates = cfg.val_dataloader is not None and cfg.val_evaluator is not None
        issues.extend(
            check_metric_monitors(cfg.default_hooks, cfg.custom_hooks, cfg.val_evaluator, validates=validates)
        )
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
