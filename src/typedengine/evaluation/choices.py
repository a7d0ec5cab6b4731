"""The built-in metric configs as one discriminated union, for ``EvaluatorConfig[BuiltinMetricConfig]``."""

from __future__ import annotations

from typing import Annotated

import tyro

from ..config.base import Variants
from .accuracy import AccuracyConfig
from .torchmetric import TorchMetricConfig

__all__ = ["BuiltinMetricConfig"]

BuiltinMetricConfig = Annotated[
    Annotated[AccuracyConfig, tyro.conf.subcommand("accuracy")] | Annotated[TorchMetricConfig, tyro.conf.subcommand("torchmetric")],
    Variants,
]
"""The built-in metrics: ``accuracy`` and ``torchmetric`` (any torchmetrics metric)."""
