"""BaseMetric: accumulate per-batch results in ``process``, compute the numbers in ``compute_metrics``;
and MetricConfig, the base of the configs that build metrics.

``evaluate(size)`` gathers the results of every process (dropping the padding a distributed sampler adds),
computes the metrics on rank 0, prefixes the keys and broadcasts the dict so every rank returns the same
values; then the results are cleared for the next evaluation.

For results to be counted exactly once across processes, append **one entry per sample** (use
``self.results.extend(...)``); per-batch entries work in a single process.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import ClassVar

from ..batches import DataBatch, StepOutputs
from ..config.base import Config

__all__ = ["BaseMetric", "MetricConfig"]


class BaseMetric:
    """Base class of evaluation metrics (subclass and implement ``process`` and ``compute_metrics``).

    Args:
        prefix: prepended to every metric key as ``prefix/key`` (default: the class's ``default_prefix``).

    Example (the seed's metric)::

        class Accuracy(BaseMetric):
            def process(self, data_batch, data_samples):
                score, gt = data_samples
                self.results.append({"batch_size": len(gt), "correct": (score.argmax(1) == gt).sum().cpu()})
            def compute_metrics(self, results):
                correct = sum(r["correct"] for r in results)
                return {"accuracy": 100 * float(correct) / sum(r["batch_size"] for r in results)}
    """

    default_prefix: ClassVar[str | None] = None

    def __init__(self, prefix: str | None = None) -> None:
        self.prefix = prefix if prefix is not None else self.default_prefix
        self.results: list[object] = []
        self.dataset_meta: Mapping[str, object] | None = None

    def process(self, data_batch: DataBatch, data_samples: StepOutputs) -> None:
        """Store what ``compute_metrics`` needs from one batch in ``self.results``."""
        raise NotImplementedError

    def compute_metrics(self, results: list[object]) -> Mapping[str, float]:
        """Compute the metrics from the results of all processes (called on rank 0 only)."""
        raise NotImplementedError

    def evaluate(self, size: int) -> dict[str, float]:
        """Gather results across processes, compute on rank 0, broadcast, clear; return the metrics."""
        from ..distributed.ops import broadcast_object, get_rank
        from .collect import collect_results

        if not self.results:
            warnings.warn(
                f"{type(self).__name__} got no results: process() stored nothing in self.results",
                RuntimeWarning,
                stacklevel=2,
            )
        results = collect_results(self.results, size)
        metrics: dict[str, float] | None = None
        if get_rank() == 0:
            computed = self.compute_metrics(results) if results else {}
            metrics = {
                (f"{self.prefix}/{k}" if self.prefix else k): _to_float(v) for k, v in computed.items()
            }
        metrics = broadcast_object(metrics)
        self.results.clear()
        assert metrics is not None
        return metrics


def _to_float(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]  # tensors, numpy scalars and numbers convert
    except (TypeError, ValueError):
        raise TypeError(f"metric values must be numbers, got {type(value).__name__}") from None


class MetricConfig(Config):
    """Describes a metric and builds it; ``produced_keys`` lets config checks validate ``save_best`` etc."""

    def build(self) -> BaseMetric:
        """Build the metric. Subclasses must override this."""
        raise NotImplementedError(f"{type(self).__name__}.build() is not implemented")

    def produced_keys(self) -> tuple[str, ...]:
        """Metric keys this metric will report (empty when unknown before running)."""
        return ()
