"""MetricConfig: the base a metric config subclasses (built-in metrics and users' own)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..config.base import Config

if TYPE_CHECKING:
    from .metric import BaseMetric

__all__ = ["MetricConfig"]


class MetricConfig(Config):
    """Describes a metric and builds it; ``produced_keys`` lets config checks validate ``save_best`` etc."""

    def build(self) -> BaseMetric:
        """Build the metric. Subclasses must override this."""
        raise NotImplementedError(f"{type(self).__name__}.build() is not implemented")

    def produced_keys(self) -> tuple[str, ...]:
        """Metric keys this metric will report (empty when unknown before running)."""
        return ()
