"""Top-k classification accuracy (in percent), and its config."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Literal, cast

from pydantic import Field, field_validator

from ..batches import DataBatch, StepOutputs
from ..config.base import Tag
from .metric import BaseMetric, MetricConfig

__all__ = ["Accuracy", "AccuracyConfig"]


class Accuracy(BaseMetric):
    """Top-k accuracy in percent. Predictions are ``(scores, labels)`` (a tuple or list) or a dict with
    ``scores`` and ``labels``; scores are ``(N, C)`` logits or probabilities.

    Keys: ``accuracy`` for ``topk=(1,)``; ``accuracy/top1``, ``accuracy/top5``… for several k.
    """

    def __init__(self, topk: tuple[int, ...] = (1,), prefix: str | None = None) -> None:
        super().__init__(prefix=prefix)
        if not topk or any(k < 1 for k in topk):
            raise ValueError(f"topk must be positive integers, got {topk}")
        self.topk = tuple(topk)

    def process(self, data_batch: DataBatch, data_samples: StepOutputs) -> None:
        import torch

        if isinstance(data_samples, Mapping):
            scores, labels = data_samples["scores"], data_samples["labels"]
        elif isinstance(data_samples, (tuple, list)) and len(data_samples) == 2:
            scores, labels = data_samples
        else:
            raise TypeError("Accuracy expects predictions as (scores, labels) or {'scores':…, 'labels':…}")
        if not isinstance(scores, torch.Tensor) or not isinstance(labels, torch.Tensor):
            raise TypeError("Accuracy expects tensors for scores and labels")
        kmax = max(self.topk)
        if kmax == 1:  # the same tie rule as the general path below (topk), so top-1 never depends on topk
            codes = scores.topk(1, dim=1).indices[:, 0].eq(labels.view(-1)).to(torch.int64)  # (N,)
        else:
            top = scores.topk(kmax, dim=1).indices  # (N, kmax)
            match = top.eq(labels.view(-1, 1))  # (N, kmax): at most one True per row
            first = match.to(torch.int64).argmax(dim=1)  # the label's rank, where present
            found = match.any(dim=1)
            # bit i set when the label is within the top ``topk[i]``
            codes = torch.zeros_like(first)
            for i, k in enumerate(self.topk):
                codes |= (found & (first < k)).to(torch.int64) << i
        # one int per sample (exact distributed counting): bit i = hit within the top ``topk[i]``
        self.results.extend(codes.cpu().tolist())

    def compute_metrics(self, results: list[object]) -> dict[str, float]:
        n = len(results)
        # at most 2**len(topk) distinct codes: count them once, then add up the bits
        tally = Counter(cast("list[int]", results))  # process() stores one int per sample
        sums = [sum(count for code, count in tally.items() if code >> i & 1) for i in range(len(self.topk))]
        if len(self.topk) == 1:
            return {"accuracy": 100.0 * sums[0] / n}
        return {f"accuracy/top{k}": 100.0 * s / n for k, s in zip(self.topk, sums)}


class AccuracyConfig(MetricConfig):
    """Top-k accuracy in percent (``accuracy`` or ``accuracy/topK`` keys)."""

    type: Tag[Literal["accuracy"]] = "accuracy"
    topk: tuple[int, ...] = Field((1,), description="The k values of top-k accuracy.")
    prefix: str | None = Field(None, description="Prefix of the metric keys (prefix/accuracy).")

    @field_validator("topk")
    @classmethod
    def _positive(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if not v or any(k < 1 for k in v):
            raise ValueError("must be a non-empty tuple of positive integers")
        return v

    def build(self) -> Accuracy:
        return Accuracy(topk=self.topk, prefix=self.prefix)

    def produced_keys(self) -> tuple[str, ...]:
        keys = ("accuracy",) if len(self.topk) == 1 else tuple(f"accuracy/top{k}" for k in self.topk)
        return tuple(f"{self.prefix}/{k}" for k in keys) if self.prefix else keys
