"""Evaluation: BaseMetric and MetricConfig, the Evaluator, built-in metrics and cross-rank result collection.

- :mod:`.metric` — ``BaseMetric`` and ``MetricConfig``. :mod:`.evaluator` — ``Evaluator``, ``EvaluatorConfig``.
- :mod:`.accuracy`, :mod:`.torchmetric` — built-in metrics; :mod:`.choices` — their union.
- :mod:`.collect` — gathering results from every rank.

Public names are in :mod:`typedengine`; this package re-exports nothing.
"""
