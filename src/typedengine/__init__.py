"""typedengine: a typed, configuration-first training runner for PyTorch.

Public names live here. They are imported lazily (on first attribute access), so ``import typedengine``
and an experiment's ``--help`` do not pay for importing torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

# name -> module that defines it
_EXPORTS: dict[str, str] = {
    # config core
    "Config": "typedengine.config.base",
    "Tag": "typedengine.config.base",
    "replace": "typedengine.config.base",
    # runner
    "Runner": "typedengine.runner.runner",
    "RunnerConfig": "typedengine.runner.config",
    "RunState": "typedengine.runner.state",
    "EnvConfig": "typedengine.runner.env",
    "RandomnessConfig": "typedengine.runner.randomness",
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
    # hooks
    "Hook": "typedengine.hooks.hook",
    "Priority": "typedengine.hooks.priority",
    "DefaultHooksConfig": "typedengine.hooks.choices",
    "HookConfig": "typedengine.hooks.choices",
    # model
    "BaseModel": "typedengine.model.base",
    "ModelConfig": "typedengine.model.config",
    "BaseDataPreprocessorConfig": "typedengine.model.preprocessor",
    "ImgDataPreprocessorConfig": "typedengine.model.preprocessor",
    # data
    "DatasetConfig": "typedengine.data.dataset",
    "DataLoaderConfig": "typedengine.data.dataloader",
    "DefaultSampler": "typedengine.data.samplers",
    "InfiniteSampler": "typedengine.data.samplers",
    # evaluation
    "BaseMetric": "typedengine.evaluation.metric",
    "MetricConfig": "typedengine.evaluation.metric",
    "Evaluator": "typedengine.evaluation.evaluator",
    "EvaluatorConfig": "typedengine.evaluation.evaluator",
    "Accuracy": "typedengine.evaluation.accuracy",
    "AccuracyConfig": "typedengine.evaluation.accuracy",
    # optim
    "OptimWrapper": "typedengine.optim",
    "OptimWrapperConfig": "typedengine.optim",
    "OptimWrapperUnion": "typedengine.optim",
    "SGDConfig": "typedengine.optim",
    "AdamConfig": "typedengine.optim",
    "AdamWConfig": "typedengine.optim",
    "ParamSchedulerConfig": "typedengine.optim",
}

# ``typedengine.cli`` is both a module and the function users call: importing the function here first
# makes the package attribute the function (a later ``import typedengine.cli`` does not rebind it).
# It costs pydantic + tyro (no torch), which every experiment's CLI needs anyway.
from .cli import cli as cli

__all__ = [
    "Accuracy",
    "AccuracyConfig",
    "AdamConfig",
    "AdamWConfig",
    "BaseDataPreprocessorConfig",
    "BaseMetric",
    "BaseModel",
    "BaseTrainLoop",
    "BaseTrainLoopConfig",
    "Config",
    "DataLoaderConfig",
    "DatasetConfig",
    "DefaultHooksConfig",
    "DefaultSampler",
    "EnvConfig",
    "EpochBasedTrainLoop",
    "EpochBasedTrainLoopConfig",
    "Evaluator",
    "EvaluatorConfig",
    "Hook",
    "HookConfig",
    "ImgDataPreprocessorConfig",
    "InfiniteSampler",
    "IterBasedTrainLoop",
    "IterBasedTrainLoopConfig",
    "MetricConfig",
    "ModelConfig",
    "OptimWrapper",
    "OptimWrapperConfig",
    "OptimWrapperUnion",
    "ParamSchedulerConfig",
    "Priority",
    "RandomnessConfig",
    "RunState",
    "Runner",
    "RunnerConfig",
    "SGDConfig",
    "Tag",
    "TestLoop",
    "TestLoopConfig",
    "TrainLoopConfig",
    "ValLoop",
    "ValLoopConfig",
    "__version__",
    "cli",
    "replace",
]

if TYPE_CHECKING:
    from .config.base import Config as Config
    from .config.base import Tag as Tag
    from .config.base import replace as replace
    from .data.dataloader import DataLoaderConfig as DataLoaderConfig
    from .data.dataset import DatasetConfig as DatasetConfig
    from .data.samplers import DefaultSampler as DefaultSampler
    from .data.samplers import InfiniteSampler as InfiniteSampler
    from .evaluation.accuracy import Accuracy as Accuracy
    from .evaluation.accuracy import AccuracyConfig as AccuracyConfig
    from .evaluation.evaluator import Evaluator as Evaluator
    from .evaluation.evaluator import EvaluatorConfig as EvaluatorConfig
    from .evaluation.metric import BaseMetric as BaseMetric
    from .evaluation.metric import MetricConfig as MetricConfig
    from .hooks.choices import DefaultHooksConfig as DefaultHooksConfig
    from .hooks.choices import HookConfig as HookConfig
    from .hooks.hook import Hook as Hook
    from .hooks.priority import Priority as Priority
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
    from .model.preprocessor import BaseDataPreprocessorConfig as BaseDataPreprocessorConfig
    from .model.preprocessor import ImgDataPreprocessorConfig as ImgDataPreprocessorConfig
    from .optim import AdamConfig as AdamConfig
    from .optim import AdamWConfig as AdamWConfig
    from .optim import OptimWrapper as OptimWrapper
    from .optim import OptimWrapperConfig as OptimWrapperConfig
    from .optim import OptimWrapperUnion as OptimWrapperUnion
    from .optim import ParamSchedulerConfig as ParamSchedulerConfig
    from .optim import SGDConfig as SGDConfig
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
