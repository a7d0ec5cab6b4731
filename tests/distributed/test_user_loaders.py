"""Plain DataLoaders handed to the Runner under DDP (2 gloo ranks): sharded, evaluated exactly, or refused."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Sampler, TensorDataset

import typedengine as te
from tests.distributed.dist_harness import run_ranks
from typedengine.errors import UsageError
from typedengine.hooks.choices import DefaultHooksConfig
from typedengine.hooks.logger import LoggerHookConfig

pytestmark = pytest.mark.slow


def _indexed(n: int, seed: int) -> TensorDataset:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 8, generator=g)
    y = (x @ torch.randn(8, 3, generator=g)).argmax(1)
    return TensorDataset(x, y, torch.arange(n))


class _Net(te.BaseModel):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.fc = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor, y: torch.Tensor, idx: torch.Tensor, mode: str = "tensor") -> object:  # type: ignore[override]
        logits = self.fc(x)
        return {"loss": F.cross_entropy(logits, y)} if mode == "loss" else (logits, y)


class _SeenIndices(te.BaseMetric):
    """Which samples the evaluation counted (one result per sample, as collect_results needs)."""

    def process(self, data_batch, data_samples) -> None:  # type: ignore[no-untyped-def,override]
        self.results.extend(int(i) for i in data_batch[2])

    def compute_metrics(self, results: list[object]) -> Mapping[str, float]:
        counts = Counter(results)
        return {
            "samples": float(sum(counts.values())),
            "distinct": float(len(counts)),
            "index_sum": float(sum(counts)),
        }


class _TrainIndices(te.Hook):
    def __init__(self) -> None:
        self.per_epoch: dict[int, list[int]] = {}

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):  # type: ignore[no-untyped-def,override]
        self.per_epoch.setdefault(runner.state.epoch, []).extend(int(i) for i in data_batch[2])


class _Pairs(Sampler[list[int]]):
    def __iter__(self) -> Iterator[list[int]]:
        return iter([[0, 1], [2, 3]])

    def __len__(self) -> int:
        return 2


def _runner(work_dir: str, launcher: str, train: DataLoader[object], hooks: list[te.Hook]) -> te.Runner:
    val = DataLoader(_indexed(25, seed=2), batch_size=4)  # 25 samples: not divisible by 2 ranks
    return te.Runner(
        model=_Net(),
        work_dir=work_dir,
        launcher=launcher,  # type: ignore[arg-type]
        train_dataloader=train,
        train=te.EpochBasedTrainLoopConfig(max_epochs=2),
        optim_wrapper=te.OptimWrapperConfig(optimizer=te.SGDConfig(lr=0.1)),
        val_dataloader=val,
        val_evaluator=[te.Accuracy(), _SeenIndices(prefix="seen")],
        randomness=te.RandomnessConfig(seed=3),
        default_hooks=DefaultHooksConfig(checkpoint=None, logger=LoggerHookConfig(progress=False)),
        custom_hooks=hooks,
    )


def _main(work_dir: str, launcher: str) -> dict[str, object]:
    refusal = None
    if launcher != "none":
        bad = _runner(work_dir, launcher, DataLoader(_indexed(24, seed=1), batch_sampler=_Pairs()), [])
        try:
            bad.train()
        except UsageError as exc:
            refusal = str(exc)
    seen = _TrainIndices()
    train = DataLoader(
        _indexed(24, seed=1), batch_size=3, shuffle=True, generator=torch.Generator().manual_seed(8)
    )
    with _runner(work_dir, launcher, train, [seen]) as runner:
        before = runner.val()  # the untrained model: the same weights in every process
        runner.train()
        return {"refusal": refusal, "val": before, "seen": seen.per_epoch, "iters": runner.state.iter}


def _rank_main(work_dir: str) -> dict[str, object]:
    return _main(work_dir, "pytorch")


def test_plain_loaders_are_sharded_evaluated_exactly_and_custom_batches_refused(tmp_path: Path) -> None:
    single = _main(str(tmp_path / "single"), "none")
    ranks = run_ranks(_rank_main, 2, str(tmp_path / "ddp"), wall_timeout_s=180.0)

    # training: per epoch the two ranks together read each of the 24 samples exactly once, in half the steps
    assert single["iters"] == 16 and all(r["iters"] == 8 for r in ranks)
    for epoch in (0, 1):
        together = ranks[0]["seen"][epoch] + ranks[1]["seen"][epoch]  # type: ignore[index]
        assert sorted(together) == list(range(24)), epoch
        assert not set(ranks[0]["seen"][epoch]) & set(ranks[1]["seen"][epoch])  # type: ignore[index]
    assert ranks[0]["seen"][0] != ranks[0]["seen"][1]  # type: ignore[index]  # reshuffled each epoch

    # evaluation: every one of the 25 samples counted once, and the same accuracy as one process
    for r in ranks:
        assert r["val"] == single["val"]
        assert r["val"]["seen/samples"] == r["val"]["seen/distinct"] == 25.0  # type: ignore[index]
        assert r["val"]["seen/index_sum"] == sum(range(25))  # type: ignore[index]

    # a custom batch_sampler stops the run before training, saying how to fix it
    for r in ranks:
        message = r["refusal"]
        assert isinstance(message, str) and message.startswith("train_dataloader: its batch_sampler (_Pairs)")
        assert "Pass a DataLoaderConfig" in message and "DefaultSampler" in message
