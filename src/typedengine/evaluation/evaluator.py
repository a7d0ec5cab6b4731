"""Evaluator: several metrics behind one ``process`` / ``evaluate`` pair, and its config."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Generic

from pydantic import Field, field_validator
from typing_extensions import TypeVar

from ..batches import DataBatch, StepOutputs
from ..config.base import Config
from .choices import BuiltinMetricConfig
from .metric import BaseMetric, MetricConfig

__all__ = ["Evaluator", "EvaluatorConfig"]


class Evaluator:
    """Fans ``process`` out to every metric and merges their results; a key produced twice is an error."""

    def __init__(self, metrics: BaseMetric | Sequence[BaseMetric]) -> None:
        self.metrics: list[BaseMetric] = [metrics] if isinstance(metrics, BaseMetric) else list(metrics)
        self._dataset_meta: Mapping[str, object] | None = None

    @property
    def dataset_meta(self) -> Mapping[str, object] | None:
        """Dataset meta information, shared with every metric."""
        return self._dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, meta: Mapping[str, object] | None) -> None:
        self._dataset_meta = meta
        for m in self.metrics:
            m.dataset_meta = meta

    def process(self, data_samples: StepOutputs, data_batch: DataBatch | None = None) -> None:
        """Hand one batch of predictions (and the batch) to every metric."""
        for m in self.metrics:
            m.process(data_batch, data_samples)

    def evaluate(self, size: int) -> dict[str, float]:
        """Compute every metric over ``size`` samples; raise if two metrics produce the same key."""
        out: dict[str, float] = {}
        for m in self.metrics:
            for k, v in m.evaluate(size).items():
                if k in out:
                    raise ValueError(
                        f"two metrics produce the key {k!r}; give one of them a prefix (e.g. prefix='val2')"
                    )
                out[k] = v
        return out


MetricT_co = TypeVar("MetricT_co", bound=MetricConfig, covariant=True, default=BuiltinMetricConfig)
"""The metric configs an evaluator holds; without a parameter, the built-in metric union."""


class EvaluatorConfig(Config, Generic[MetricT_co]):
    """The metrics of an evaluation.

    Plain ``EvaluatorConfig`` (in a call or a field annotation) holds built-in metrics, chosen by ``type``;
    ``EvaluatorConfig[MyMetricConfig]`` holds your own metric configs.
    Example: ``EvaluatorConfig(metrics=(AccuracyConfig(topk=(1, 5)),))``.
    """

    metrics: tuple[MetricT_co, ...] = Field((), description="Metrics computed over the whole evaluation set.")

    @field_validator("metrics")
    @classmethod
    def _not_empty(cls, v: tuple[MetricT_co, ...]) -> tuple[MetricT_co, ...]:
        if not v:
            raise ValueError("an evaluator needs at least one metric")
        return v

    def build(self) -> Evaluator:
        """Build every metric into an :class:`Evaluator`."""
        return Evaluator([m.build() for m in self.metrics])

    def metric_keys(self) -> frozenset[str]:
        """Keys the metrics will produce, when the configs declare them (for config-time checks)."""
        keys: set[str] = set()
        for m in self.metrics:
            keys.update(m.produced_keys())
        return frozenset(keys)
