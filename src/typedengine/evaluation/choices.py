"""The built-in metric configs as one type, for ``EvaluatorConfig[BuiltinMetricConfig]``."""

from __future__ import annotations

from .accuracy import AccuracyConfig

__all__ = ["BuiltinMetricConfig"]

BuiltinMetricConfig = AccuracyConfig
"""The built-in metrics (a union once there are several; narrow to your own MetricConfig subclass)."""
