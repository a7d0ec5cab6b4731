"""The built-in metric configs as one discriminated union, for ``EvaluatorConfig[BuiltinMetricConfig]``."""

from __future__ import annotations

from typing import Annotated

import tyro
from pydantic import Field

from .accuracy import AccuracyConfig
from .torchmetric import TorchMetricConfig

__all__ = ["BuiltinMetricConfig"]

BuiltinMetricConfig = Annotated[
    Annotated[AccuracyConfig, tyro.conf.subcommand("accuracy")] | Annotated[TorchMetricConfig, tyro.conf.subcommand("torchmetric")],
    Field(discriminator="type"),
]
"""The built-in metrics: ``accuracy`` and ``torchmetric`` (any torchmetrics metric)."""
