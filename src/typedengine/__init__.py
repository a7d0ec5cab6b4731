"""typedengine: a typed, configuration-first training runner for PyTorch.

This module is the public API: every name an experiment needs, so ``import typedengine as te`` is the only
import an experiment file makes (``te.RunnerConfig``, ``te.CosineAnnealingSchedulerConfig``, ...). Deeper
modules are the implementation; their own ``__all__`` lists say what each offers to the rest of the package.

Names are imported on first attribute access (the module-level ``__getattr__`` below, the one lazy import
mechanism of the package), so ``import typedengine`` and an experiment's ``--help`` do not import torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    # run
    "Runner": "typedengine.runner.runner",
    "RunnerConfig": "typedengine.runner.config",
    "NewField": "typedengine.runner.config",
    "RunState": "typedengine.runner.state",
    "EnvConfig": "typedengine.runner.env",
    "DistConfig": "typedengine.distributed.process_group",
    "Launcher": "typedengine.distributed.env",
    "RandomnessConfig": "typedengine.runner.randomness",
    "CompileConfig": "typedengine.runner.compile",
    # config bases and helpers
    "Config": "typedengine.config.base",
    "Tag": "typedengine.config.base",
    "Variants": "typedengine.config.base",
    "replace": "typedengine.config.base",
    "ImportRef": "typedengine.config.refs",
    "load_config": "typedengine.config.files",
    "save_config": "typedengine.config.files",
    # loops
    "TrainLoopConfig": "typedengine.loops.choices",
    "BaseTrainLoop": "typedengine.loops.base",
    "BaseTrainLoopConfig": "typedengine.loops.base",
    "EpochBasedTrainLoop": "typedengine.loops.epoch_based",
    "EpochBasedTrainLoopConfig": "typedengine.loops.epoch_based",
    "IterBasedTrainLoop": "typedengine.loops.iter_based",
    "IterBasedTrainLoopConfig": "typedengine.loops.iter_based",
    "ValLoop": "typedengine.loops.evaluation",
    "ValLoopConfig": "typedengine.loops.evaluation",
    "TestLoop": "typedengine.loops.evaluation",
    "TestLoopConfig": "typedengine.loops.evaluation",
    # model, data preprocessors, distribution
    "BaseModel": "typedengine.model.base",
    "ModelConfig": "typedengine.model.config",
    "DataPreprocessorConfig": "typedengine.model.preprocessor",
    "BaseDataPreprocessorConfig": "typedengine.model.preprocessor",
    "ImgDataPreprocessorConfig": "typedengine.model.preprocessor",
    "BaseDataPreprocessor": "typedengine.model.preprocessor_modules",
    "ImgDataPreprocessor": "typedengine.model.preprocessor_modules",
    "ModelWrapperConfig": "typedengine.model.wrapping",
    "NoWrapperConfig": "typedengine.model.wrapping",
    "DDPConfig": "typedengine.model.wrapping",
    "FSDPConfig": "typedengine.model.fsdp",
    # data
    "DatasetConfig": "typedengine.data.dataset",
    "DataLoaderConfig": "typedengine.data.dataloader",
    "DefaultSampler": "typedengine.data.samplers",
    "InfiniteSampler": "typedengine.data.samplers",
    # evaluation
    "BaseMetric": "typedengine.evaluation.metric",
    "MetricConfig": "typedengine.evaluation.metric",
    "BuiltinMetricConfig": "typedengine.evaluation.choices",
    "Evaluator": "typedengine.evaluation.evaluator",
    "EvaluatorConfig": "typedengine.evaluation.evaluator",
    "Accuracy": "typedengine.evaluation.accuracy",
    "AccuracyConfig": "typedengine.evaluation.accuracy",
    "TorchMetric": "typedengine.evaluation.torchmetric",
    "TorchMetricConfig": "typedengine.evaluation.torchmetric",
    # optimizers
    "OptimizerConfig": "typedengine.optim.optimizers",
    "SGDConfig": "typedengine.optim.optimizers",
    "AdamConfig": "typedengine.optim.optimizers",
    "AdamWConfig": "typedengine.optim.optimizers",
    "RMSpropConfig": "typedengine.optim.optimizers",
    "AdagradConfig": "typedengine.optim.optimizers",
    "AdadeltaConfig": "typedengine.optim.optimizers",
    "AdamaxConfig": "typedengine.optim.optimizers",
    "NAdamConfig": "typedengine.optim.optimizers",
    "RAdamConfig": "typedengine.optim.optimizers",
    "ImportedOptimizerConfig": "typedengine.optim.optimizers",
    # optim wrappers
    "OptimWrapperUnion": "typedengine.optim.choices",
    "OptimWrapper": "typedengine.optim.wrapper",
    "OptimWrapperConfig": "typedengine.optim.wrapper",
    "AmpOptimWrapper": "typedengine.optim.amp",
    "AmpOptimWrapperConfig": "typedengine.optim.amp",
    "GradScalerConfig": "typedengine.optim.amp",
    "OptimWrapperDict": "typedengine.optim.wrapper_dict",
    "OptimWrapperDictConfig": "typedengine.optim.wrapper_dict",
    "SingleOptimWrapperConfig": "typedengine.optim.wrapper_dict",
    "ParamwiseConfig": "typedengine.optim.param_groups",
    "CustomKeyRule": "typedengine.optim.param_groups",
    "ClipGradConfig": "typedengine.optim.grad_clip",
    "ClipGradNormConfig": "typedengine.optim.grad_clip",
    "ClipGradValueConfig": "typedengine.optim.grad_clip",
    "AutoScaleLRConfig": "typedengine.optim.auto_scale_lr",
    # parameter schedulers (one config per kind; ``param`` picks lr, momentum or any key)
    "ParamSchedulerConfig": "typedengine.optim.schedulers.choices",
    "ConstantSchedulerConfig": "typedengine.optim.schedulers.simple",
    "LinearSchedulerConfig": "typedengine.optim.schedulers.linear",
    "StepSchedulerConfig": "typedengine.optim.schedulers.step",
    "MultiStepSchedulerConfig": "typedengine.optim.schedulers.step",
    "ExponentialSchedulerConfig": "typedengine.optim.schedulers.simple",
    "CosineAnnealingSchedulerConfig": "typedengine.optim.schedulers.cosine",
    "CosineRestartSchedulerConfig": "typedengine.optim.schedulers.cosine",
    "PolySchedulerConfig": "typedengine.optim.schedulers.simple",
    "OneCycleSchedulerConfig": "typedengine.optim.schedulers.one_cycle",
    "ReduceOnPlateauSchedulerConfig": "typedengine.optim.schedulers.plateau",
    # hooks
    "Hook": "typedengine.hooks.hook",
    "Priority": "typedengine.hooks.priority",
    "HookConfig": "typedengine.hooks.choices",
    "HookList": "typedengine.hooks.choices",
    "DefaultHooksConfig": "typedengine.hooks.choices",
    "RuntimeInfoHookConfig": "typedengine.hooks.runtime_info",
    "IterTimerHookConfig": "typedengine.hooks.timer",
    "DistSamplerSeedHookConfig": "typedengine.hooks.sampler_seed",
    "LoggerHookConfig": "typedengine.hooks.logger",
    "ParamSchedulerHookConfig": "typedengine.hooks.param_scheduler",
    "CheckpointHookConfig": "typedengine.hooks.checkpoint",
    "EMAHookConfig": "typedengine.hooks.ema",
    "EarlyStoppingHookConfig": "typedengine.hooks.early_stopping",
    "EmptyCacheHookConfig": "typedengine.hooks.empty_cache",
    "SyncBuffersHookConfig": "typedengine.hooks.sync_buffers",
    "ProfilerHookConfig": "typedengine.hooks.profiler",
    "ProfilerScheduleConfig": "typedengine.hooks.profiler",
    "CheckInvalidLossHookConfig": "typedengine.hooks.check_invalid_loss",
    # logging and visualisation
    "LogProcessorConfig": "typedengine.logs.processor",
    "SmoothingConfig": "typedengine.logs.processor",
    "VisualizerConfig": "typedengine.logs.visualizer",
    "VisBackendConfig": "typedengine.logs.backends.choices",
    "LocalBackendConfig": "typedengine.logs.backends.local",
    "TensorboardBackendConfig": "typedengine.logs.backends.tensorboard",
    "MlflowBackendConfig": "typedengine.logs.backends.mlflow",
    "WandbBackendConfig": "typedengine.logs.backends.wandb",
    "load_scalars": "typedengine.logs.plot",
    "plot_curves": "typedengine.logs.plot",
    # checkpoints
    "find_latest": "typedengine.checkpoint.io",
    "load_checkpoint_file": "typedengine.checkpoint.io",
}
"""Public name -> the module that defines it."""

# ``typedengine.cli`` is both a module and the function users call: importing the function here first
# makes the package attribute the function (a later ``import typedengine.cli`` does not rebind it).
# It costs pydantic + tyro (no torch), which every experiment's CLI needs anyway.
from .cli import cli as cli  # noqa: E402

__all__ = ["__version__", "cli", *_EXPORTS]

if TYPE_CHECKING:
    from .checkpoint.io import find_latest as find_latest
    from .checkpoint.io import load_checkpoint_file as load_checkpoint_file
    from .config.base import Config as Config
    from .config.base import Tag as Tag
    from .config.base import Variants as Variants
    from .config.base import replace as replace
    from .config.files import load_config as load_config
    from .config.files import save_config as save_config
    from .config.refs import ImportRef as ImportRef
    from .data.dataloader import DataLoaderConfig as DataLoaderConfig
    from .data.dataset import DatasetConfig as DatasetConfig
    from .data.samplers import DefaultSampler as DefaultSampler
    from .data.samplers import InfiniteSampler as InfiniteSampler
    from .distributed.env import Launcher as Launcher
    from .distributed.process_group import DistConfig as DistConfig
    from .evaluation.accuracy import Accuracy as Accuracy
    from .evaluation.accuracy import AccuracyConfig as AccuracyConfig
    from .evaluation.choices import BuiltinMetricConfig as BuiltinMetricConfig
    from .evaluation.evaluator import Evaluator as Evaluator
    from .evaluation.evaluator import EvaluatorConfig as EvaluatorConfig
    from .evaluation.metric import BaseMetric as BaseMetric
    from .evaluation.metric import MetricConfig as MetricConfig
    from .evaluation.torchmetric import TorchMetric as TorchMetric
    from .evaluation.torchmetric import TorchMetricConfig as TorchMetricConfig
    from .hooks.check_invalid_loss import CheckInvalidLossHookConfig as CheckInvalidLossHookConfig
    from .hooks.checkpoint import CheckpointHookConfig as CheckpointHookConfig
    from .hooks.choices import DefaultHooksConfig as DefaultHooksConfig
    from .hooks.choices import HookConfig as HookConfig
    from .hooks.choices import HookList as HookList
    from .hooks.early_stopping import EarlyStoppingHookConfig as EarlyStoppingHookConfig
    from .hooks.ema import EMAHookConfig as EMAHookConfig
    from .hooks.empty_cache import EmptyCacheHookConfig as EmptyCacheHookConfig
    from .hooks.hook import Hook as Hook
    from .hooks.logger import LoggerHookConfig as LoggerHookConfig
    from .hooks.param_scheduler import ParamSchedulerHookConfig as ParamSchedulerHookConfig
    from .hooks.priority import Priority as Priority
    from .hooks.profiler import ProfilerHookConfig as ProfilerHookConfig
    from .hooks.profiler import ProfilerScheduleConfig as ProfilerScheduleConfig
    from .hooks.runtime_info import RuntimeInfoHookConfig as RuntimeInfoHookConfig
    from .hooks.sampler_seed import DistSamplerSeedHookConfig as DistSamplerSeedHookConfig
    from .hooks.sync_buffers import SyncBuffersHookConfig as SyncBuffersHookConfig
    from .hooks.timer import IterTimerHookConfig as IterTimerHookConfig
    from .logs.backends.choices import VisBackendConfig as VisBackendConfig
    from .logs.backends.local import LocalBackendConfig as LocalBackendConfig
    from .logs.backends.mlflow import MlflowBackendConfig as MlflowBackendConfig
    from .logs.backends.tensorboard import TensorboardBackendConfig as TensorboardBackendConfig
    from .logs.backends.wandb import WandbBackendConfig as WandbBackendConfig
    from .logs.plot import load_scalars as load_scalars
    from .logs.plot import plot_curves as plot_curves
    from .logs.processor import LogProcessorConfig as LogProcessorConfig
    from .logs.processor import SmoothingConfig as SmoothingConfig
    from .logs.visualizer import VisualizerConfig as VisualizerConfig
    from .loops.base import BaseTrainLoop as BaseTrainLoop
    from .loops.base import BaseTrainLoopConfig as BaseTrainLoopConfig
    from .loops.choices import TrainLoopConfig as TrainLoopConfig
    from .loops.epoch_based import EpochBasedTrainLoop as EpochBasedTrainLoop
    from .loops.epoch_based import EpochBasedTrainLoopConfig as EpochBasedTrainLoopConfig
    from .loops.evaluation import TestLoop as TestLoop
    from .loops.evaluation import TestLoopConfig as TestLoopConfig
    from .loops.evaluation import ValLoop as ValLoop
    from .loops.evaluation import ValLoopConfig as ValLoopConfig
    from .loops.iter_based import IterBasedTrainLoop as IterBasedTrainLoop
    from .loops.iter_based import IterBasedTrainLoopConfig as IterBasedTrainLoopConfig
    from .model.base import BaseModel as BaseModel
    from .model.config import ModelConfig as ModelConfig
    from .model.fsdp import FSDPConfig as FSDPConfig
    from .model.preprocessor import BaseDataPreprocessorConfig as BaseDataPreprocessorConfig
    from .model.preprocessor import DataPreprocessorConfig as DataPreprocessorConfig
    from .model.preprocessor import ImgDataPreprocessorConfig as ImgDataPreprocessorConfig
    from .model.preprocessor_modules import BaseDataPreprocessor as BaseDataPreprocessor
    from .model.preprocessor_modules import ImgDataPreprocessor as ImgDataPreprocessor
    from .model.wrapping import DDPConfig as DDPConfig
    from .model.wrapping import ModelWrapperConfig as ModelWrapperConfig
    from .model.wrapping import NoWrapperConfig as NoWrapperConfig
    from .optim.amp import AmpOptimWrapper as AmpOptimWrapper
    from .optim.amp import AmpOptimWrapperConfig as AmpOptimWrapperConfig
    from .optim.amp import GradScalerConfig as GradScalerConfig
    from .optim.auto_scale_lr import AutoScaleLRConfig as AutoScaleLRConfig
    from .optim.choices import OptimWrapperUnion as OptimWrapperUnion
    from .optim.grad_clip import ClipGradConfig as ClipGradConfig
    from .optim.grad_clip import ClipGradNormConfig as ClipGradNormConfig
    from .optim.grad_clip import ClipGradValueConfig as ClipGradValueConfig
    from .optim.optimizers import AdadeltaConfig as AdadeltaConfig
    from .optim.optimizers import AdagradConfig as AdagradConfig
    from .optim.optimizers import AdamaxConfig as AdamaxConfig
    from .optim.optimizers import AdamConfig as AdamConfig
    from .optim.optimizers import AdamWConfig as AdamWConfig
    from .optim.optimizers import ImportedOptimizerConfig as ImportedOptimizerConfig
    from .optim.optimizers import NAdamConfig as NAdamConfig
    from .optim.optimizers import OptimizerConfig as OptimizerConfig
    from .optim.optimizers import RAdamConfig as RAdamConfig
    from .optim.optimizers import RMSpropConfig as RMSpropConfig
    from .optim.optimizers import SGDConfig as SGDConfig
    from .optim.param_groups import CustomKeyRule as CustomKeyRule
    from .optim.param_groups import ParamwiseConfig as ParamwiseConfig
    from .optim.schedulers.choices import ParamSchedulerConfig as ParamSchedulerConfig
    from .optim.schedulers.cosine import CosineAnnealingSchedulerConfig as CosineAnnealingSchedulerConfig
    from .optim.schedulers.cosine import CosineRestartSchedulerConfig as CosineRestartSchedulerConfig
    from .optim.schedulers.linear import LinearSchedulerConfig as LinearSchedulerConfig
    from .optim.schedulers.one_cycle import OneCycleSchedulerConfig as OneCycleSchedulerConfig
    from .optim.schedulers.plateau import ReduceOnPlateauSchedulerConfig as ReduceOnPlateauSchedulerConfig
    from .optim.schedulers.simple import ConstantSchedulerConfig as ConstantSchedulerConfig
    from .optim.schedulers.simple import ExponentialSchedulerConfig as ExponentialSchedulerConfig
    from .optim.schedulers.simple import PolySchedulerConfig as PolySchedulerConfig
    from .optim.schedulers.step import MultiStepSchedulerConfig as MultiStepSchedulerConfig
    from .optim.schedulers.step import StepSchedulerConfig as StepSchedulerConfig
    from .optim.wrapper import OptimWrapper as OptimWrapper
    from .optim.wrapper import OptimWrapperConfig as OptimWrapperConfig
    from .optim.wrapper_dict import OptimWrapperDict as OptimWrapperDict
    from .optim.wrapper_dict import OptimWrapperDictConfig as OptimWrapperDictConfig
    from .optim.wrapper_dict import SingleOptimWrapperConfig as SingleOptimWrapperConfig
    from .runner.compile import CompileConfig as CompileConfig
    from .runner.config import NewField as NewField
    from .runner.config import RunnerConfig as RunnerConfig
    from .runner.env import EnvConfig as EnvConfig
    from .runner.randomness import RandomnessConfig as RandomnessConfig
    from .runner.runner import Runner as Runner
    from .runner.state import RunState as RunState


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'typedengine' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
