"""TrainLoopConfig: the union of built-in train loops (``train:epoch-based`` / ``train:iter-based``).

A user-defined loop plugs in by subclassing :class:`~typedengine.loops.base.BaseTrainLoop` and
:class:`~typedengine.loops.base.BaseTrainLoopConfig` (with its own ``type`` tag), then widening the
experiment's field: ``train: MyLoopConfig | EpochBasedTrainLoopConfig = MyLoopConfig()``.
"""

from __future__ import annotations

from typing import Annotated

import tyro

from ..config.base import Variants
from .epoch_based import EpochBasedTrainLoopConfig
from .iter_based import IterBasedTrainLoopConfig

__all__ = ["TrainLoopConfig"]

TrainLoopConfig = Annotated[
    Annotated[EpochBasedTrainLoopConfig, tyro.conf.subcommand("epoch-based")] | Annotated[IterBasedTrainLoopConfig, tyro.conf.subcommand("iter-based")],
    Variants,
]
