"""Any ``torchmetrics`` metric as an evaluator metric: :class:`TorchMetric` and :class:`TorchMetricConfig`.

torchmetrics is an optional extra (``pip install 'typedengine[torchmetrics]'``); nothing here imports it
until a metric is configured or built.

Predictions are ``(preds, target)`` (a tuple or list) or a dict with ``scores`` and ``labels`` (the keys are
configurable), like :class:`~typedengine.evaluation.accuracy.Accuracy`. Both are batches: tensors whose
first dimension is the sample, or lists with one entry per sample (e.g. the list of dicts of
``MeanAveragePrecision``).

Counting across processes: ``process`` stores **one entry per sample** (``(preds_i, target_i)`` on the
CPU) and ``evaluate`` gathers them with :func:`~typedengine.evaluation.collect.collect_results`, which
interleaves the ranks' lists in sampler order and cuts off the repeated samples DefaultSampler pads the
last stride with; rank 0 then feeds every sample to the torchmetrics metric once and computes. So each
sample counts exactly once and any metric works, including ones that are not sums over batches (AUROC,
mAP). torchmetrics' own state sync is switched off for the wrapped metric: it would all-gather each
rank's padded states and count the padding twice (and it would wait on ranks that are not computing).
The price is memory: rank 0 holds the predictions of the whole evaluation set, as MMEngine's metrics do.

Keys: a scalar result is reported as ``name``; a dict result (or a 1-D tensor, e.g. ``average=None``)
needs ``output_keys`` and is reported as ``name/<key>``; ``prefix`` prepends ``prefix/``.

Example::

    TorchMetricConfig(
        metric="torchmetrics.classification.MulticlassF1Score",
        kwargs={"num_classes": 10, "average": "macro"},
        name="f1",
    )
    # CLI: --val-evaluator.metrics.0.metric MulticlassF1Score --val-evaluator.metrics.0.kwargs '{"num_classes": 10}'
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BeforeValidator, Field, model_validator

from ..batches import DataBatch, StepOutputs
from ..config.base import Tag
from ..config.errors import ConfigIssue, ConfigProblems, suggest
from ..config.json_args import JsonDict
from ..config.refs import ImportRef, check_call_kwargs
from .metric import BaseMetric, MetricConfig

if TYPE_CHECKING:
    from torchmetrics import Metric

__all__ = ["INSTALL_HINT", "TorchMetric", "TorchMetricConfig", "default_metric_name"]

INSTALL_HINT = "pip install 'typedengine[torchmetrics]'"
"""How to get the optional dependency (named in every missing-torchmetrics error)."""

_SYNC_KWARGS = ("dist_sync_on_step", "sync_on_compute", "process_group", "dist_sync_fn", "distributed_available_fn")
"""torchmetrics ``Metric`` arguments that control its own cross-process sync (typedengine gathers itself)."""

_BASE_KWARGS = ("compute_on_cpu", "compute_with_cache", *_SYNC_KWARGS)
"""Keyword arguments every torchmetrics ``Metric`` takes through ``**kwargs``."""


_BARE_NAME_MODULES = ("torchmetrics", "torchmetrics.classification")
"""Where a metric given by its bare class name is looked up, in order."""


def _never_distributed() -> bool:
    return False


def _require_torchmetrics() -> None:
    try:
        importlib.import_module("torchmetrics")
    except ImportError:
        raise ValueError(f"the torchmetrics package is not installed; {INSTALL_HINT}") from None


def _resolve_metric_path(value: object) -> object:
    """Check torchmetrics is installed; a bare class name means ``torchmetrics.<name>`` (or ``.classification``)."""
    _require_torchmetrics()
    if not isinstance(value, str) or "." in value or ":" in value:
        return value
    name = value.strip()
    known: list[str] = []
    for module_name in _BARE_NAME_MODULES:
        module = importlib.import_module(module_name)
        if hasattr(module, name):
            return f"{module_name}.{name}"
        known.extend(n for n in dir(module) if n[:1].isupper())
    where = " or ".join(_BARE_NAME_MODULES)
    raise ValueError(f"no metric {name!r} in {where}{suggest(name, known)}")


def default_metric_name(cls: object) -> str:
    """``MulticlassF1Score`` -> ``multiclass_f1_score``: the key a metric reports without ``name``."""
    text = getattr(cls, "__name__", type(cls).__name__)
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", text).lower()


# --- runtime -------------------------------------------------------------------------------------------------


class TorchMetric(BaseMetric):
    """Adapter: feeds every evaluated sample to a ``torchmetrics.Metric`` and reports its result.

    Args:
        metric: the torchmetrics metric (its own distributed sync is switched off; see the module docstring).
        name: key of a scalar result, or the stem of ``name/<key>`` keys.
        prefix: prepended to every key as ``prefix/``.
        output_keys: for a dict result, the entries to report; for a 1-D result, one key per element.
        preds_key, target_key: where predictions and targets are in dict outputs.

    Example::

        from torchmetrics.classification import MulticlassAccuracy
        metric = TorchMetric(MulticlassAccuracy(num_classes=4, average="micro"), name="acc")
        metric.process(None, (logits, labels))      # per batch
        metric.evaluate(size=len(dataset))           # {"acc": 0.93}
    """

    def __init__(
        self,
        metric: Metric,
        name: str,
        *,
        prefix: str | None = None,
        output_keys: Sequence[str] = (),
        preds_key: str = "scores",
        target_key: str = "labels",
    ) -> None:
        super().__init__(prefix=prefix)
        from torchmetrics import Metric

        if not isinstance(metric, Metric):
            raise TypeError(f"TorchMetric wraps a torchmetrics.Metric, got {type(metric).__name__}")
        if not name:
            raise ValueError("TorchMetric needs a non-empty name")
        metric.distributed_available_fn = _never_distributed  # typedengine gathers the samples itself
        self.metric = metric
        self.name = name
        self.output_keys = tuple(output_keys)
        self.preds_key = preds_key
        self.target_key = target_key

    def process(self, data_batch: DataBatch, data_samples: StepOutputs) -> None:
        """Store ``(preds_i, target_i)`` per sample, on the CPU (one device-to-host copy per batch)."""
        if isinstance(data_samples, Mapping):
            missing = [k for k in (self.preds_key, self.target_key) if k not in data_samples]
            if missing:
                raise KeyError(f"TorchMetric({self.name}): outputs have no key(s) {missing}; keys: {list(data_samples)}")
            preds, target = data_samples[self.preds_key], data_samples[self.target_key]
        elif isinstance(data_samples, (tuple, list)) and len(data_samples) == 2:
            preds, target = data_samples
        else:
            raise TypeError(
                f"TorchMetric({self.name}) expects predictions as (preds, target) or "
                f"{{{self.preds_key!r}: ..., {self.target_key!r}: ...}}, got {type(data_samples).__name__}"
            )
        pred_items, target_items = _per_sample(preds, "preds"), _per_sample(target, "target")
        if len(pred_items) != len(target_items):
            raise ValueError(
                f"TorchMetric({self.name}): {len(pred_items)} predictions but {len(target_items)} targets in a batch"
            )
        self.results.extend(zip(pred_items, target_items))

    def compute_metrics(self, results: list[object]) -> dict[str, float]:
        """Update the metric once with every sample, compute, reset; map the value to keys."""
        pairs = [r for r in results if isinstance(r, tuple) and len(r) == 2]
        if len(pairs) != len(results):
            raise TypeError("TorchMetric results must be (preds, target) pairs")
        preds = _collate([p for p, _ in pairs])
        target = _collate([t for _, t in pairs])
        self.metric.reset()
        try:
            self.metric.update(preds, target)
            value = self.metric.compute()
        finally:
            self.metric.reset()
        return self._keys(value)

    def _keys(self, value: object) -> dict[str, float]:
        import torch

        what = f"{type(self.metric).__name__}.compute()"
        if isinstance(value, Mapping):
            if not self.output_keys:
                raise ValueError(
                    f"{what} returned a dict with keys {sorted(map(str, value))}; "
                    "name the entries to report in output_keys"
                )
            missing = [k for k in self.output_keys if k not in value]
            if missing:
                raise ValueError(f"{what} has no entries {missing}; it returned {sorted(map(str, value))}")
            return {f"{self.name}/{k}": _scalar(value[k], f"{what}[{k!r}]") for k in self.output_keys}
        tensor = torch.as_tensor(value)
        if not self.output_keys:
            if tensor.numel() != 1:
                raise ValueError(
                    f"{what} returned a tensor of shape {tuple(tensor.shape)}; reduce it to a scalar "
                    "(e.g. average='macro') or name its elements in output_keys"
                )
            return {self.name: float(tensor.reshape(()).item())}
        if tensor.dim() != 1 or tensor.numel() != len(self.output_keys):
            raise ValueError(
                f"{what} returned a tensor of shape {tuple(tensor.shape)}, but output_keys names "
                f"{len(self.output_keys)} entries"
            )
        return {f"{self.name}/{k}": float(v) for k, v in zip(self.output_keys, tensor.tolist())}


def _scalar(value: object, what: str) -> float:
    import torch

    tensor = torch.as_tensor(value)
    if tensor.numel() != 1:
        raise ValueError(f"{what} is not a scalar (shape {tuple(tensor.shape)})")
    return float(tensor.reshape(()).item())


def _cpu_copy(obj: object) -> object:
    """``obj`` with every tensor detached and copied to the CPU (a compact copy, not a view of the batch)."""
    import torch

    if isinstance(obj, torch.Tensor):
        return obj.detach().to("cpu", copy=True)
    if isinstance(obj, Mapping):
        return {k: _cpu_copy(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_cpu_copy(v) for v in obj)
    return obj


def _per_sample(batch: object, what: str) -> list[object]:
    import torch

    if isinstance(batch, torch.Tensor):
        if batch.dim() == 0:
            raise ValueError(f"TorchMetric: {what} is a 0-d tensor; expected a batch (first dimension = samples)")
        host = batch.detach().cpu()
        return [row.clone() for row in host.unbind(0)]  # clone: pickle one row, not the whole batch storage
    if isinstance(batch, (list, tuple)):
        return [_cpu_copy(item) for item in batch]
    raise TypeError(f"TorchMetric: {what} must be a tensor or a list with one entry per sample, got {type(batch).__name__}")


def _collate(items: list[object]) -> object:
    import torch

    tensors = [i for i in items if isinstance(i, torch.Tensor)]
    if items and len(tensors) == len(items):
        return torch.stack(tensors)
    if items and all(isinstance(i, (bool, int, float)) for i in items):
        return torch.tensor(items)
    return items


# --- config --------------------------------------------------------------------------------------------------

TorchMetricRef = Annotated[ImportRef[Callable[..., object]], BeforeValidator(_resolve_metric_path)]
"""A torchmetrics class by dotted path (a bare name is looked up in ``torchmetrics``); needs the extra."""


def _metric_base() -> type:
    from torchmetrics import Metric

    return Metric


def _known_kwargs(cls: type) -> set[str]:
    """Named parameters of every ``__init__``/``__new__`` on the way to ``Metric``, plus Metric's own kwargs."""
    names: set[str] = set(_BASE_KWARGS)
    base = _metric_base()
    for klass in cls.__mro__:
        if not (isinstance(klass, type) and issubclass(klass, base)):
            continue
        for fn in (klass.__dict__.get("__init__"), klass.__dict__.get("__new__")):
            if fn is None:
                continue
            try:
                params = inspect.signature(fn).parameters
            except (TypeError, ValueError):
                continue
            names.update(
                n for n, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and n != "self"
            )
    return names


def _takes_var_kwargs(target: Callable[..., object]) -> bool:
    try:
        params = inspect.signature(target).parameters
    except (TypeError, ValueError):
        return True
    return any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


class TorchMetricConfig(MetricConfig):
    """A torchmetrics metric as an evaluator metric (needs ``pip install 'typedengine[torchmetrics]'``).

    ``kwargs`` are checked against the class's signature when the config is validated: unknown names
    (with a did-you-mean), missing required arguments and values of the wrong type are config errors.
    """

    type: Tag[Literal["torchmetric"]] = "torchmetric"
    metric: TorchMetricRef = Field(
        description="The torchmetrics class, as a dotted path (torchmetrics.classification.MulticlassAccuracy) "
        "or a name exported by torchmetrics / torchmetrics.classification (MulticlassAccuracy)."
    )
    kwargs: JsonDict = Field(
        default_factory=dict, description='Arguments of the metric class, as a JSON object ({"num_classes": 10}).'
    )
    name: str | None = Field(
        None, min_length=1, description="Key of the result (default: the class name in snake_case)."
    )
    prefix: str | None = Field(None, description="Prefix of the metric keys (prefix/name).")
    output_keys: tuple[str, ...] = Field(
        (), description="For a dict result: the entries to report; for a 1-D result: one key per element."
    )
    preds_key: str = Field("scores", description="Key of the predictions when the model's outputs are a dict.")
    target_key: str = Field("labels", description="Key of the targets when the model's outputs are a dict.")

    @model_validator(mode="after")
    def _check_metric(self) -> TorchMetricConfig:
        base = _metric_base()
        target = self.metric
        if not (inspect.isclass(target) and issubclass(target, base)):
            raise ConfigProblems([ConfigIssue("metric", f"{_show(target)} is not a torchmetrics.Metric class")])
        issues: list[ConfigIssue] = []
        for key in self.kwargs:
            if key in _SYNC_KWARGS:
                issues.append(
                    ConfigIssue(
                        f"kwargs.{key}", "typedengine gathers the samples of every rank itself; remove this argument"
                    )
                )
        checkable = {k: v for k, v in self.kwargs.items() if k not in _SYNC_KWARGS}
        issues.extend(ConfigIssue(f"kwargs.{i.path}", i.message) for i in check_call_kwargs(target, checkable))
        if _takes_var_kwargs(target):
            known = _known_kwargs(target)
            issues.extend(
                ConfigIssue(f"kwargs.{key}", "unexpected keyword argument" + suggest(key, known))
                for key in checkable
                if key not in known
            )
        if issues:
            raise ConfigProblems(issues)
        return self

    def metric_name(self) -> str:
        """The configured ``name``, or the class name in snake_case."""
        return self.name if self.name is not None else default_metric_name(self.metric)

    def build(self) -> TorchMetric:
        built = self.metric(**self.kwargs)
        from torchmetrics import Metric

        if not isinstance(built, Metric):
            raise TypeError(f"{_show(self.metric)}(...) returned {type(built).__name__}, not a torchmetrics.Metric")
        return TorchMetric(
            built,
            self.metric_name(),
            prefix=self.prefix,
            output_keys=self.output_keys,
            preds_key=self.preds_key,
            target_key=self.target_key,
        )

    def produced_keys(self) -> tuple[str, ...]:
        name = self.metric_name()
        keys = tuple(f"{name}/{k}" for k in self.output_keys) if self.output_keys else (name,)
        return tuple(f"{self.prefix}/{k}" for k in keys) if self.prefix else keys


def _show(obj: object) -> str:
    module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    return f"{module}.{qualname}" if isinstance(module, str) and isinstance(qualname, str) else repr(obj)
