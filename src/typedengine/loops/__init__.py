"""Train, validation and test loops, and their configs."""

from .base import BaseTrainLoop, BaseTrainLoopConfig
from .choices import TrainLoopConfig
from .epoch_based import EpochBasedTrainLoop, EpochBasedTrainLoopConfig
from .evaluation import TestLoop, TestLoopConfig, ValLoop, ValLoopConfig
from .iter_based import IterBasedTrainLoop, IterBasedTrainLoopConfig

__all__ = [
    "BaseTrainLoop",
    "BaseTrainLoopConfig",
    "EpochBasedTrainLoop",
    "EpochBasedTrainLoopConfig",
    "IterBasedTrainLoop",
    "IterBasedTrainLoopConfig",
    "TestLoop",
    "TestLoopConfig",
    "TrainLoopConfig",
    "ValLoop",
    "ValLoopConfig",
]
