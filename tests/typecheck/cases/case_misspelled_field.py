"""Mistake: a misspelled field name."""

from __future__ import annotations

from typedengine.loops.epoch_based import EpochBasedTrainLoopConfig

from .common import Exp

cfg = Exp(train=EpochBasedTrainLoopConfig(max_epoch=5))  # E: Unexpected keyword argument "max_epoch" for "EpochBasedTrainLoopConfig"; did you mean "max_epochs"?  [call-arg]
