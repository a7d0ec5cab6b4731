"""Accuracy (top-k, percent) and the Evaluator's duplicate-key rule."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from typedengine.evaluation.accuracy import Accuracy, AccuracyConfig
from typedengine.evaluation.evaluator import Evaluator, EvaluatorConfig


def test_topk_accuracy_in_percent() -> None:
    acc = Accuracy(topk=(1, 2))
    scores = torch.tensor([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2], [0.2, 0.3, 0.5], [0.6, 0.3, 0.1]])
    labels = torch.tensor([1, 1, 0, 2])
    acc.process(None, (scores[:2], labels[:2]))
    acc.process(None, {"scores": scores[2:], "labels": labels[2:]})
    # top1 hits: row 0 only -> 25 %; top2 hits: rows 0 and 1 (row 2 top2 = {2, 1}, label 0) -> 50 %
    assert acc.evaluate(4) == {"accuracy/top1": 25.0, "accuracy/top2": 50.0}
    assert acc.results == []  # cleared for the next evaluation


@pytest.mark.parametrize("topk", [(1,), (3,), (1, 3, 5), (5, 2)])
def test_topk_matches_a_per_sample_count(topk: tuple[int, ...]) -> None:
    g = torch.Generator().manual_seed(7)
    scores = torch.randn(300, 10, generator=g)
    labels = torch.randint(0, 10, (300,), generator=g)
    acc = Accuracy(topk=topk)
    for start in range(0, 300, 64):  # uneven batches
        acc.process(None, (scores[start : start + 64], labels[start : start + 64]))
    got = acc.evaluate(300)
    order = scores.argsort(dim=1, descending=True)
    for k in topk:
        hits = sum(int(labels[i]) in order[i, :k].tolist() for i in range(300))
        key = "accuracy" if len(topk) == 1 else f"accuracy/top{k}"
        assert got[key] == pytest.approx(100.0 * hits / 300)


def test_evaluator_rejects_duplicate_keys() -> None:
    ev = Evaluator([Accuracy(), Accuracy()])
    ev.process((torch.eye(2), torch.tensor([0, 1])))
    with pytest.raises(ValueError, match="two metrics produce the key 'accuracy'"):
        ev.evaluate(2)


def test_prefix_and_config_keys() -> None:
    cfg = EvaluatorConfig[AccuracyConfig](metrics=(AccuracyConfig(prefix="digits"),))
    assert cfg.metric_keys() == frozenset({"digits/accuracy"})
    ev = cfg.build()
    ev.process((torch.eye(3), torch.tensor([0, 1, 1])))
    assert ev.evaluate(3) == pytest.approx({"digits/accuracy": 200 / 3})


# --- EvaluatorConfig without a type parameter: the built-in metric union ---------------------------------
def test_unparametrised_config_holds_builtin_metrics() -> None:
    from typedengine.evaluation.torchmetric import TorchMetricConfig

    cfg = EvaluatorConfig(metrics=(AccuracyConfig(topk=(1, 2)),))
    assert cfg.metric_keys() == frozenset({"accuracy/top1", "accuracy/top2"})
    ev = cfg.build()
    ev.process((torch.eye(2), torch.tensor([0, 1])))
    assert ev.evaluate(2) == {"accuracy/top1": 100.0, "accuracy/top2": 100.0}
    # validated against the union: a dict picks its member by "type"
    parsed = EvaluatorConfig.model_validate({"metrics": [{"type": "accuracy", "topk": [3]}]})
    assert parsed.metrics == (AccuracyConfig(topk=(3,)),)
    torchmetric = {"type": "torchmetric", "metric": "torchmetrics.MeanMetric"}
    other = EvaluatorConfig.model_validate({"metrics": [torchmetric]})
    assert type(other.metrics[0]) is TorchMetricConfig
    with pytest.raises(ValueError, match="accuracy|torchmetric"):
        EvaluatorConfig.model_validate({"metrics": [{"type": "nope"}]})


def _experiment() -> type:
    import importlib

    digits = importlib.import_module("01_digits")

    class Exp(digits.DigitsExperiment):  # type: ignore[misc,name-defined]
        val_evaluator: EvaluatorConfig | None = EvaluatorConfig(metrics=(AccuracyConfig(),))

    return Exp


def test_unparametrised_field_round_trips_through_a_config_file(tmp_path: Path) -> None:
    from typedengine.config.files import load_config, save_config

    exp = _experiment()
    cfg = exp(val_evaluator=EvaluatorConfig(metrics=(AccuracyConfig(topk=(1, 3), prefix="digits"),)))
    for name in ("cfg.json", "cfg.yaml"):
        save_config(cfg, tmp_path / name)
        assert load_config(exp, tmp_path / name) == cfg


def test_unparametrised_field_on_the_command_line() -> None:
    import typedengine as te

    exp = _experiment()
    cfg = te.cli(exp, args=["--val-evaluator.metrics.0.topk", "1", "3"], environ={})
    assert cfg.val_evaluator == EvaluatorConfig(metrics=(AccuracyConfig(topk=(1, 3)),))
    assert cfg.val_evaluator.metric_keys() == frozenset({"accuracy/top1", "accuracy/top3"})
