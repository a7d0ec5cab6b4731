"""Mistake: a member of the wrong union (a scheduler where an optimizer belongs)."""

from __future__ import annotations

from typedengine.optim.schedulers.cosine import CosineAnnealingSchedulerConfig
from typedengine.optim.wrapper import OptimWrapperConfig

from .common import Exp

cfg = Exp(optim_wrapper=OptimWrapperConfig(optimizer=CosineAnnealingSchedulerConfig()))  # E: Argument "optimizer" to "OptimWrapperConfig" has incompatible type "CosineAnnealingSchedulerConfig"
