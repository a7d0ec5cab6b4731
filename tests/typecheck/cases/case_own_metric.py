"""Not a mistake: an experiment narrows the evaluator fields to a metric config of its own (mypy accepts it)."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import Field

from typedengine.batches import DataBatch, StepOutputs

import typedengine as te

from .common import Exp


class MeanErrorMetric(te.BaseMetric):
    """A metric of the user's own."""

    def process(self, data_batch: DataBatch, data_samples: StepOutputs) -> None:
        self.results.append(0.0)

    def compute_metrics(self, results: list[object]) -> Mapping[str, float]:
        return {"mean_error": 0.0}


class MeanErrorConfig(te.MetricConfig):
    """Its config."""

    scale: float = Field(1.0, gt=0, description="Multiplies the error.")

    def build(self) -> MeanErrorMetric:
        return MeanErrorMetric()


class OwnMetricExp(Exp):
    """The evaluator holds the user's metric config; the built-in default still types too."""

    val_evaluator: te.EvaluatorConfig[MeanErrorConfig] | None = te.EvaluatorConfig[MeanErrorConfig](
        metrics=(MeanErrorConfig(),)
    )
    test_evaluator: te.EvaluatorConfig | None = te.EvaluatorConfig(metrics=(te.AccuracyConfig(),))


cfg = OwnMetricExp(val_evaluator=te.EvaluatorConfig[MeanErrorConfig](metrics=(MeanErrorConfig(scale="x"),)))  # E: Argument "scale" to "MeanErrorConfig" has incompatible type "str"; expected "float"  [arg-type]
