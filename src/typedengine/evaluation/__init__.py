"""Evaluation: BaseMetric, Evaluator, built-in metrics and cross-rank result collection."""

from .accuracy import Accuracy, AccuracyConfig
from .choices import BuiltinMetricConfig
from .collect import collect_results
from .evaluator import Evaluator, EvaluatorConfig
from .metric import BaseMetric
from .metric_config import MetricConfig

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
