"""endless_batches: finite loaders restart with the next sampler epoch; any start iteration is exact."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from itertools import islice
from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader, IterableDataset, Sampler, TensorDataset

import typedengine as te
from tests.conftest import TinyMLP
from typedengine.data.samplers import DefaultSampler, InfiniteSampler
from typedengine.data.stream import endless_batches
from typedengine.errors import UsageError
from typedengine.hooks.checkpoint import CheckpointHookConfig
from typedengine.hooks.choices import DefaultHooksConfig
from typedengine.hooks.logger import LoggerHookConfig


def _loader(
    sampler: Sampler[int] | None = None, n: int = 10, batch: int = 3, **kw: object
) -> DataLoader[object]:
    return DataLoader(TensorDataset(torch.arange(n)), batch_size=batch, sampler=sampler, **kw)  # type: ignore[arg-type]


def _take(stream: Iterator[object], k: int) -> list[list[int]]:
    return [b[0].tolist() for b in islice(stream, k)]  # type: ignore[index]


def _flat(batches: list[list[int]]) -> list[int]:
    return list(itertools.chain.from_iterable(batches))


def _epoch(e: int) -> list[int]:
    s = DefaultSampler(10, seed=2)
    s.set_epoch(e)
    return list(s)


def test_a_finite_loader_restarts_with_a_new_shuffle_each_pass() -> None:
    batches = _take(endless_batches(_loader(DefaultSampler(10, seed=2))), 10)
    # 4 batches per pass (3 + 3 + 3 + 1): passes 0 and 1, then the first two batches of pass 2
    assert _flat(batches[:4]) == _epoch(0)
    assert _flat(batches[4:8]) == _epoch(1) != _epoch(0)
    assert _flat(batches[8:]) == _epoch(2)[:6]


@pytest.mark.parametrize("sampler_kind", ["default", "infinite"])
def test_starting_at_any_iteration_gives_the_batches_of_an_uninterrupted_run(sampler_kind: str) -> None:
    def make() -> DataLoader[object]:  # a fresh loader each time, as in a resumed process
        sampler = DefaultSampler(10, seed=5) if sampler_kind == "default" else InfiniteSampler(10, seed=5)
        return _loader(sampler, drop_last=False)

    uninterrupted = _take(endless_batches(make()), 20)
    for start in range(14):
        assert _take(endless_batches(make(), start_iter=start), 6) == uninterrupted[start : start + 6], start


def test_a_plain_loader_without_set_start_resumes_only_at_a_pass_boundary() -> None:
    uninterrupted = _take(endless_batches(_loader()), 8)  # SequentialSampler: 4 batches per pass
    assert uninterrupted[4:] == uninterrupted[:4]
    assert _take(endless_batches(_loader(), start_iter=4), 4) == uninterrupted[4:]
    with pytest.raises(UsageError) as info:
        endless_batches(_loader(), start_iter=6)
    message = str(info.value)
    assert message.startswith(
        "train_dataloader: cannot resume exactly at iteration 6: that is batch 2 of pass 1"
    )
    assert "SequentialSampler" in message and "DefaultSampler" in message


class _Stream(IterableDataset[int]):
    def __init__(self) -> None:
        self.epochs: list[int] = []

    def set_epoch(self, epoch: int) -> None:
        self.epochs.append(epoch)

    def __iter__(self) -> Iterator[int]:
        return iter(range(5))


def test_an_iterable_dataset_restarts_but_cannot_resume() -> None:
    ds = _Stream()
    loader = DataLoader(ds, batch_size=2)
    got = [b.tolist() for b in islice(endless_batches(loader), 5)]  # type: ignore[attr-defined]
    assert got == [[0, 1], [2, 3], [4], [0, 1], [2, 3]]
    assert ds.epochs == [1]  # told the next epoch when the stream restarted
    with pytest.raises(UsageError, match="cannot resume exactly at iteration 3: it has no length"):
        endless_batches(loader, start_iter=3)


def test_a_loader_without_batches_is_an_error_not_a_busy_loop() -> None:
    with pytest.raises(UsageError, match="produced no batch"):
        endless_batches(_loader(n=2, batch=4, drop_last=True))

    class Empty(IterableDataset[int]):
        def __iter__(self) -> Iterator[int]:
            return iter(())

    with pytest.raises(UsageError, match="produced no batch"):
        next(endless_batches(DataLoader(Empty(), batch_size=2)))


# -- the Runner: IterBasedTrainLoop over a DataLoader the user built ----------------------------------------


class _Stop(Exception):
    pass


class _Record(te.Hook):
    """Records each iteration's sample indices; raises _Stop after ``stop_after`` iterations."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.stop_after = stop_after
        self.batches: list[list[int]] = []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):  # type: ignore[no-untyped-def]
        self.batches.append(data_batch[2].tolist())
        if runner.state.iter + 1 == self.stop_after:
            raise _Stop


class _Net(TinyMLP):
    def forward(self, x, y, idx, mode="tensor"):  # type: ignore[no-untyped-def,override]
        return super().forward(x, y, mode)


def _iter_run(work_dir: str, hook: _Record, resume: bool) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(10, 16, generator=g), torch.randint(0, 4, (10,), generator=g)
    loader = DataLoader(
        TensorDataset(x, y, torch.arange(10)),
        batch_size=4,
        shuffle=True,
        generator=torch.Generator().manual_seed(6),
    )
    torch.manual_seed(1)
    runner = te.Runner(
        model=_Net(),
        work_dir=work_dir,
        train_dataloader=loader,
        train=te.IterBasedTrainLoopConfig(max_iters=12),
        optim_wrapper=te.OptimWrapperConfig(optimizer=te.SGDConfig(lr=0.1, momentum=0.9)),
        randomness=te.RandomnessConfig(seed=4),
        resume=resume,
        default_hooks=DefaultHooksConfig(
            checkpoint=CheckpointHookConfig(by_epoch=False, interval=5),
            logger=LoggerHookConfig(progress=False),
        ),
        custom_hooks=[hook],
    )
    with runner:
        runner.train()
        return {k: v.detach().clone() for k, v in runner.unwrapped_model.state_dict().items()}


def test_iteration_training_over_a_plain_loader_passes_it_several_times_and_resumes_exactly(
    tmp_path: Path,
) -> None:
    whole = _Record()
    final = _iter_run(str(tmp_path / "whole"), whole, resume=False)
    assert len(whole.batches) == 12  # 3 batches per pass (4 + 4 + 2): four passes, no StopIteration
    passes = [_flat(whole.batches[i : i + 3]) for i in range(0, 12, 3)]
    assert all(sorted(p) == list(range(10)) for p in passes) and passes[0] != passes[1]

    stopped = _Record(stop_after=8)  # dies after iteration 8; the last checkpoint is iter_5 (mid-pass 1)
    with pytest.raises(_Stop):
        _iter_run(str(tmp_path / "split"), stopped, resume=False)
    resumed = _Record()
    again = _iter_run(str(tmp_path / "split"), resumed, resume=True)
    assert resumed.batches == whole.batches[5:]
    for key, value in final.items():
        assert torch.equal(again[key], value), key
