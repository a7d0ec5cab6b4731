"""Evaluation: BaseMetric, Evaluator, built-in metrics and cross-rank result collection."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy_imports import lazy_getattr

_EXPORTS: dict[str, str] = {
    "Accuracy": ".accuracy",
    "AccuracyConfig": ".accuracy",
    "BuiltinMetricConfig": ".choices",
    "collect_results": ".collect",
    "Evaluator": ".evaluator",
    "EvaluatorConfig": ".evaluator",
    "BaseMetric": ".metric",
    "MetricConfig": ".metric",
    "TorchMetric": ".torchmetric",
    "TorchMetricConfig": ".torchmetric",
}

__all__ = [
    "Accuracy",
    "AccuracyConfig",
    "BaseMetric",
    "BuiltinMetricConfig",
    "Evaluator",
    "EvaluatorConfig",
    "MetricConfig",
    "collect_results",
]

if TYPE_CHECKING:
    from .accuracy import Accuracy as Accuracy
    from .accuracy import AccuracyConfig as AccuracyConfig
    from .choices import BuiltinMetricConfig as BuiltinMetricConfig
    from .collect import collect_results as collect_results
    from .evaluator import Evaluator as Evaluator
    from .evaluator import EvaluatorConfig as EvaluatorConfig
    from .metric import BaseMetric as BaseMetric
    from .metric import MetricConfig as MetricConfig
    from .torchmetric import TorchMetric as TorchMetric
    from .torchmetric import TorchMetricConfig as TorchMetricConfig

__getattr__ = lazy_getattr(__name__, _EXPORTS)
