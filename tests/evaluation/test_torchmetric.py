"""TorchMetric: torchmetrics metrics as evaluator metrics, their config checks, and exact cross-rank counting."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import pytest
import torch
import tyro
from pydantic import Field, ValidationError

pytest.importorskip("torchmetrics")

from torchmetrics.classification import MulticlassAccuracy, MulticlassAUROC
from torchmetrics.wrappers import ClasswiseWrapper

from tests.distributed.dist_harness import run_ranks
from typedengine.cli import cli
from typedengine.config.base import Config
from typedengine.config.errors import ConfigIssue, format_validation_error
from typedengine.data.samplers import DefaultSampler
from typedengine.evaluation.accuracy import Accuracy, AccuracyConfig
from typedengine.evaluation.evaluator import EvaluatorConfig
from typedengine.evaluation.torchmetric import (
    INSTALL_HINT,
    TorchMetric,
    TorchMetricConfig,
    default_metric_name,
)

Metrics = Annotated[
    Annotated[AccuracyConfig, tyro.conf.subcommand("accuracy")] | Annotated[TorchMetricConfig, tyro.conf.subcommand("torchmetric")],
    Field(discriminator="type"),
]
"""The metric union as evaluation/choices.py declares BuiltinMetricConfig once TorchMetricConfig is in it."""


class Exp(Config):
    """A root holding an evaluator, as RunnerConfig does."""

    val_evaluator: Annotated[EvaluatorConfig[Metrics], tyro.conf.subcommand("evaluator")] | None = Field(
        EvaluatorConfig[Metrics](metrics=(AccuracyConfig(),)), description="Validation metrics."
    )


def predictions(n: int = 50, classes: int = 4, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    scores = torch.randn(n, classes, generator=g)
    labels = torch.randint(0, classes, (n,), generator=g)
    return scores, labels


def issues_of(data: object) -> list[ConfigIssue]:
    with pytest.raises(ValidationError) as info:
        Exp.model_validate(data)
    return format_validation_error(info.value, Exp)


def one_metric(metric: dict[str, object]) -> dict[str, object]:
    return {"val_evaluator": {"metrics": [{"type": "torchmetric", **metric}]}}


# --- runtime ----------------------------------------------------------------------------------------------


def test_multiclass_accuracy_equals_typedengine_accuracy() -> None:
    scores, labels = predictions()
    ours, theirs = Accuracy(topk=(1,)), TorchMetric(MulticlassAccuracy(num_classes=4, average="micro"), "acc")
    top2_ours, top2_theirs = Accuracy(topk=(2,)), TorchMetric(MulticlassAccuracy(num_classes=4, average="micro", top_k=2), "acc2")
    for start in range(0, 50, 16):  # batches of 16, 16, 16, 2, alternating the two output forms
        part = (scores[start : start + 16], labels[start : start + 16])
        outputs: object = part if start % 32 == 0 else {"scores": part[0], "labels": part[1]}
        for metric in (ours, theirs, top2_ours, top2_theirs):
            metric.process(None, outputs)
    assert len(theirs.results) == 50  # one entry per sample
    expected = 100.0 * float((scores.argmax(1) == labels).float().mean())
    assert ours.evaluate(50) == pytest.approx({"accuracy": expected})
    assert theirs.evaluate(50) == pytest.approx({"acc": expected / 100})
    assert top2_theirs.evaluate(50)["acc2"] == pytest.approx(top2_ours.evaluate(50)["accuracy"] / 100)
    assert theirs.results == []  # cleared; a second evaluation starts from scratch
    theirs.process(None, (scores[:4], labels[:4]))
    assert theirs.evaluate(4)["acc"] == pytest.approx(float((scores[:4].argmax(1) == labels[:4]).float().mean()))


def test_vector_results_need_output_keys() -> None:
    scores, labels = predictions(n=40, classes=3)
    per_class = TorchMetric(MulticlassAccuracy(num_classes=3, average=None), "recall", output_keys=("cat", "dog", "fish"))
    per_class.process(None, (scores, labels))
    got = per_class.evaluate(40)
    hits = scores.argmax(1) == labels
    expected = {f"recall/{k}": float(hits[labels == c].float().mean()) for c, k in enumerate(("cat", "dog", "fish"))}
    assert got == pytest.approx(expected)
    unnamed = TorchMetric(MulticlassAccuracy(num_classes=3, average=None), "recall")
    unnamed.process(None, (scores, labels))
    with pytest.raises(ValueError, match=r"returned a tensor of shape \(3,\); reduce it to a scalar"):
        unnamed.evaluate(40)


def test_dict_results_report_the_named_entries() -> None:
    scores, labels = predictions(n=30, classes=3, seed=4)
    wrapped = ClasswiseWrapper(MulticlassAccuracy(num_classes=3, average=None), labels=["cat", "dog", "fish"])
    metric = TorchMetric(wrapped, "acc", prefix="val", output_keys=("multiclassaccuracy_dog",))
    metric.process(None, (scores, labels))
    dog = labels == 1
    assert metric.evaluate(30) == pytest.approx({"val/acc/multiclassaccuracy_dog": float((scores.argmax(1) == labels)[dog].float().mean())})
    silent = TorchMetric(ClasswiseWrapper(MulticlassAccuracy(num_classes=3, average=None)), "acc")
    silent.process(None, (scores, labels))
    with pytest.raises(ValueError, match="returned a dict with keys .*name the entries to report in output_keys"):
        silent.evaluate(30)


def test_bad_outputs_are_explained() -> None:
    metric = TorchMetric(MulticlassAccuracy(num_classes=4), "acc", preds_key="logits", target_key="y")
    scores, labels = predictions(n=4)
    with pytest.raises(KeyError, match=r"no key\(s\) \['logits', 'y'\]"):
        metric.process(None, {"scores": scores, "labels": labels})
    with pytest.raises(ValueError, match="4 predictions but 3 targets"):
        metric.process(None, (scores, labels[:3]))
    with pytest.raises(TypeError, match="expects predictions as"):
        metric.process(None, scores)
    with pytest.raises(TypeError, match="wraps a torchmetrics.Metric"):
        TorchMetric(torch.nn.ReLU(), "x")  # type: ignore[arg-type]  # the mistake under test


def test_stored_rows_do_not_keep_the_batch_alive() -> None:
    metric = TorchMetric(MulticlassAccuracy(num_classes=4), "acc")
    scores, labels = predictions(n=64)
    metric.process(None, (scores, labels))
    pair = metric.results[0]
    assert isinstance(pair, tuple)
    row = pair[0]
    assert isinstance(row, torch.Tensor)
    assert row.untyped_storage().nbytes() == 4 * 4  # one row of 4 floats, not the 64x4 batch (pickled per rank)


# --- exact counting across ranks ------------------------------------------------------------------------------


def all_samples() -> tuple[torch.Tensor, torch.Tensor]:
    # 7 samples over 2 ranks: DefaultSampler pads rank 1 with sample 0 again (wrongly classified below)
    scores = torch.tensor(
        [[0.1, 0.7, 0.2], [0.8, 0.1, 0.1], [0.2, 0.2, 0.6], [0.3, 0.4, 0.3], [0.1, 0.1, 0.8], [0.6, 0.3, 0.1], [0.2, 0.5, 0.3]]
    )
    labels = torch.tensor([0, 0, 2, 1, 1, 0, 1])
    return scores, labels


def _evaluate_rank_shard() -> tuple[dict[str, float], dict[str, float], float]:
    scores, labels = all_samples()
    adapters = [
        TorchMetric(MulticlassAccuracy(num_classes=3, average="micro"), "acc"),
        TorchMetric(MulticlassAUROC(num_classes=3), "auroc"),
    ]
    raw = MulticlassAccuracy(num_classes=3, average="micro")  # torchmetrics' own sync, for comparison
    indices = list(DefaultSampler(7, shuffle=False))
    for start in range(0, len(indices), 2):
        idx = torch.tensor(indices[start : start + 2])
        for metric in adapters:
            metric.process(None, (scores[idx], labels[idx]))
        raw.update(scores[idx], labels[idx])
    return adapters[0].evaluate(7), adapters[1].evaluate(7), float(raw.compute())


@pytest.mark.slow  # two processes that each import torchmetrics (about 10 s on a busy 2-core machine)
def test_two_ranks_count_every_sample_once() -> None:
    scores, labels = all_samples()
    expected_acc = float(MulticlassAccuracy(num_classes=3, average="micro")(scores, labels))
    expected_auroc = float(MulticlassAUROC(num_classes=3)(scores, labels))
    assert expected_acc == pytest.approx(5 / 7)  # argmax [1, 0, 2, 1, 2, 0, 1]: samples 0 and 4 are wrong
    r0, r1 = run_ranks(_evaluate_rank_shard, 2)
    assert r0 == r1  # every rank returns the same numbers
    acc, auroc, raw = r0
    assert acc == pytest.approx({"acc": expected_acc})
    assert auroc == pytest.approx({"auroc": expected_auroc})
    # torchmetrics' own sync all-gathers the padded shards: the repeated (wrong) sample counts twice
    assert raw == pytest.approx(5 / 8)


# --- config ---------------------------------------------------------------------------------------------------


def accuracy_config(**changes: object) -> TorchMetricConfig:
    data: dict[str, object] = {"metric": "MulticlassAccuracy", "kwargs": {"num_classes": 4, "average": "micro"}}
    data.update(changes)
    return TorchMetricConfig.model_validate(data)


def test_config_builds_the_adapter_and_declares_its_keys() -> None:
    cfg = accuracy_config()
    assert cfg.metric is MulticlassAccuracy  # a bare name is looked up in torchmetrics(.classification)
    assert cfg.produced_keys() == ("multiclass_accuracy",)
    assert accuracy_config(name="acc", prefix="val").produced_keys() == ("val/acc",)
    assert accuracy_config(name="r", output_keys=("a", "b")).produced_keys() == ("r/a", "r/b")
    assert default_metric_name(MulticlassAUROC) == "multiclass_auroc"
    scores, labels = predictions()
    built = accuracy_config(prefix="val").build()
    assert isinstance(built, TorchMetric) and isinstance(built.metric, MulticlassAccuracy)
    built.process(None, (scores, labels))
    assert built.evaluate(50) == pytest.approx({"val/multiclass_accuracy": float((scores.argmax(1) == labels).float().mean())})
    with pytest.warns(RuntimeWarning, match="got no results"):
        assert built.evaluate(0) == {}  # nothing processed: no keys


def test_root_config_json_round_trip(tmp_path: Path) -> None:
    cfg = Exp(
        val_evaluator=EvaluatorConfig[Metrics](
            metrics=(AccuracyConfig(), accuracy_config(name="tm_acc", prefix="tm"))
        )
    )
    text = cfg.model_dump_json()
    data = json.loads(text)["val_evaluator"]["metrics"][1]
    assert data["type"] == "torchmetric"
    assert data["metric"] == "torchmetrics.classification.accuracy.MulticlassAccuracy"
    assert data["kwargs"] == {"num_classes": 4, "average": "micro"}
    loaded = Exp.model_validate_json(text)
    assert loaded == cfg
    assert loaded.val_evaluator is not None
    assert loaded.val_evaluator.metric_keys() == frozenset({"accuracy", "tm/tm_acc"})
    evaluator = loaded.val_evaluator.build()
    scores, labels = predictions()
    evaluator.process((scores, labels))
    got = evaluator.evaluate(50)
    assert got["tm/tm_acc"] == pytest.approx(got["accuracy"] / 100)
    # the same file through --config, then a CLI edit of the JSON kwargs
    path = tmp_path / "exp.json"
    path.write_text(text)
    edited = cli(Exp, args=["--config", str(path), "--val-evaluator.metrics.1.kwargs", '{"num_classes": 5}'], environ={})
    assert edited.val_evaluator is not None
    metric = edited.val_evaluator.metrics[1]
    assert isinstance(metric, TorchMetricConfig) and metric.kwargs == {"num_classes": 5}


def test_cli_selects_a_torchmetric() -> None:
    cfg = cli(
        Exp,
        args=["val-evaluator.metrics.0:torchmetric", "--val-evaluator.metrics.0.metric",
              "torchmetrics.classification.MulticlassAUROC", "--val-evaluator.metrics.0.kwargs", '{"num_classes": 3}'],
        environ={},
    )  # fmt: skip
    assert cfg.val_evaluator is not None
    assert cfg.val_evaluator.metrics == (TorchMetricConfig(metric=MulticlassAUROC, kwargs={"num_classes": 3}),)


def test_bad_kwargs_name_their_paths() -> None:
    got = issues_of(one_metric({"metric": "MulticlassAccuracy", "kwargs": {"num_clases": 4, "average": "mikro", "sync_on_compute": False}}))
    where = "val_evaluator.metrics[0]"
    assert [str(i) for i in got] == [
        f"{where}.kwargs.sync_on_compute: typedengine gathers the samples of every rank itself; remove this argument",
        f"{where}.kwargs.average: must be one of 'micro', 'macro', 'weighted' or 'none', got 'mikro'",
        f"{where}.kwargs.num_clases: unexpected keyword argument; did you mean 'num_classes'?",
    ]
    [wrong_type] = issues_of(one_metric({"metric": "MulticlassAccuracy", "kwargs": {"num_classes": "four"}}))
    assert str(wrong_type) == f"{where}.kwargs.num_classes: expected an integer, got 'four'"
    [missing] = issues_of(one_metric({"metric": "torchmetrics.Accuracy", "kwargs": {"num_classes": 3}}))
    assert str(missing) == f"{where}.kwargs.task: required argument is missing"


def test_bad_metric_paths() -> None:
    [typo] = issues_of(one_metric({"metric": "MulticlasAccuracy"}))
    assert str(typo) == (
        "val_evaluator.metrics[0].metric: no metric 'MulticlasAccuracy' in torchmetrics or "
        "torchmetrics.classification; did you mean 'MulticlassAccuracy'?"
    )
    [not_metric] = issues_of(one_metric({"metric": "torch.nn.ReLU"}))
    assert str(not_metric) == "val_evaluator.metrics[0].metric: torch.nn.modules.activation.ReLU is not a torchmetrics.Metric class"
    [no_module] = issues_of(one_metric({"metric": "torchmetrics.classificaton.MulticlassAccuracy"}))
    assert no_module.path == "val_evaluator.metrics[0].metric" and "has no attribute 'classificaton'" in no_module.message


def test_missing_torchmetrics_is_a_config_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "torchmetrics", None)  # what Python does when the package is absent
    [issue] = issues_of(one_metric({"metric": "torchmetrics.classification.MulticlassAccuracy"}))
    assert str(issue) == f"val_evaluator.metrics[0].metric: the torchmetrics package is not installed; {INSTALL_HINT}"
    assert INSTALL_HINT == "pip install 'typedengine[torchmetrics]'"
    path = tmp_path / "exp.json"
    path.write_text(json.dumps(one_metric({"metric": "MulticlassAccuracy", "kwargs": {"num_classes": 4}})))
    with pytest.raises(SystemExit) as info:
        cli(Exp, args=["--config", str(path)], environ={})
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert INSTALL_HINT in err and "Traceback" not in err
