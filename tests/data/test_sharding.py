"""adapt_user_loader: a DataLoader the user built is sharded per rank (same sampling, same settings) or refused.

These run in one process with explicit ranks (the shuffle-seed broadcast is the identity without a group);
tests/distributed/test_user_loaders.py runs the Runner with two real gloo processes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
import torch
from torch.utils.data import (
    BatchSampler,
    DataLoader,
    DistributedSampler,
    IterableDataset,
    RandomSampler,
    Sampler,
    SequentialSampler,
    TensorDataset,
    WeightedRandomSampler,
)

from typedengine.data.samplers import DefaultSampler
from typedengine.data.sharding import adapt_user_loader
from typedengine.data.worker_seed import WorkerSeeder
from typedengine.errors import UsageError


def _data(n: int) -> TensorDataset:
    return TensorDataset(torch.arange(n))


def _indices(loader: DataLoader[object]) -> list[int]:
    return [int(i) for (batch,) in loader for i in batch]


def _shards(
    loader: DataLoader[object], world: int, *, training: bool = True, seed: int = 7
) -> list[DataLoader[object]]:
    return [
        adapt_user_loader(
            loader, name="train_dataloader", rank=r, world_size=world, seed=seed, training=training
        ).loader
        for r in range(world)
    ]


def _collate(batch: list[tuple[torch.Tensor]]) -> tuple[torch.Tensor]:
    return (torch.stack([b[0] for b in batch]),)


def _init_worker(worker_id: int) -> None:
    pass


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("size", [24, 23])
def test_ranks_together_read_every_sample_once_per_epoch(shuffle: bool, size: int) -> None:
    loader = DataLoader(_data(size), batch_size=4, shuffle=shuffle)
    shards = _shards(loader, 2)
    for epoch in range(2):
        seen: list[int] = []
        for shard in shards:
            sampler = shard.sampler
            assert isinstance(sampler, DefaultSampler)
            sampler.set_epoch(epoch)
            seen += _indices(shard)
        counts = Counter(seen)
        assert set(counts) == set(range(size))
        # an odd size is padded by one repeated sample so both ranks run the same number of steps
        assert sum(counts.values()) == size + size % 2
    if shuffle:
        shards[0].sampler.set_epoch(0)  # type: ignore[attr-defined]
        first = _indices(shards[0])
        shards[0].sampler.set_epoch(1)  # type: ignore[attr-defined]
        assert _indices(shards[0]) != first  # a new permutation every epoch


def test_every_other_setting_is_kept() -> None:
    seeder = WorkerSeeder(3, 0, None)
    for init_fn in (_init_worker, seeder):
        loader = DataLoader(
            _data(20),
            batch_size=3,
            shuffle=True,
            num_workers=2,
            collate_fn=_collate,
            pin_memory=True,
            drop_last=True,
            timeout=12.0,
            worker_init_fn=init_fn,
            multiprocessing_context="spawn",
            generator=torch.Generator().manual_seed(4),
            prefetch_factor=5,
            persistent_workers=True,
        )
        new = _shards(loader, 2)[1]
        assert new is not loader and new.dataset is loader.dataset
        assert (new.batch_size, new.drop_last, new.num_workers, new.pin_memory, new.timeout) == (
            3,
            True,
            2,
            True,
            12.0,
        )
        assert new.collate_fn is _collate and new.generator is loader.generator
        assert (new.prefetch_factor, new.persistent_workers) == (5, True)
        assert new.multiprocessing_context is loader.multiprocessing_context
        if init_fn is seeder:  # typedengine's seeder now follows the new sampler and rank
            assert isinstance(new.worker_init_fn, WorkerSeeder)
            assert (new.worker_init_fn.seed, new.worker_init_fn.rank) == (3, 1)
            assert new.worker_init_fn.sampler is new.sampler  # type: ignore[comparison-overlap]
        else:
            assert new.worker_init_fn is _init_worker


def test_the_shuffle_seed_is_the_generators_else_the_runs() -> None:
    seeded = DataLoader(_data(10), batch_size=2, shuffle=True, generator=torch.Generator().manual_seed(123))
    sampler = _shards(seeded, 2)[0].sampler
    assert isinstance(sampler, DefaultSampler) and sampler.seed == 123 and sampler.shuffle
    own = DataLoader(
        _data(10), batch_size=2, sampler=RandomSampler(_data(10), generator=torch.Generator().manual_seed(9))
    )
    assert _shards(own, 2)[0].sampler.seed == 9  # type: ignore[attr-defined]
    unseeded = DataLoader(_data(10), batch_size=2, shuffle=True)
    assert _shards(unseeded, 2, seed=55)[0].sampler.seed == 55  # type: ignore[attr-defined]


def test_a_plain_batch_sampler_becomes_batch_size_and_drop_last() -> None:
    ds = _data(11)
    loader = DataLoader(ds, batch_sampler=BatchSampler(SequentialSampler(ds), batch_size=2, drop_last=True))
    shards = _shards(loader, 2)
    assert [(s.batch_size, s.drop_last) for s in shards] == [(2, True), (2, True)]
    # 11 samples padded to 12, strided by rank, in batches of 2
    assert _indices(shards[0]) == [0, 2, 4, 6, 8, 10] and _indices(shards[1]) == [1, 3, 5, 7, 9, 0]


def test_a_correctly_sharded_loader_passes_unchanged() -> None:
    ds = _data(10)
    for r in range(2):
        ours = DataLoader(ds, batch_size=2, sampler=DefaultSampler(10, rank=r, world_size=2))
        torchs = DataLoader(ds, batch_size=2, sampler=DistributedSampler(ds, num_replicas=2, rank=r))
        for loader in (ours, torchs):
            adapted = adapt_user_loader(loader, name="x", rank=r, world_size=2, seed=0, training=True)
            assert adapted.loader is loader and adapted.note is None


def test_a_default_sampler_built_before_the_group_is_rebuilt_for_the_rank() -> None:
    ds = _data(9)
    loader = DataLoader(ds, batch_size=2, sampler=DefaultSampler(9, shuffle=True, seed=4, round_up=False))
    assert loader.sampler.world_size == 1  # type: ignore[attr-defined]  # no process group yet
    shards = _shards(loader, 2)
    samplers = [s.sampler for s in shards]
    assert all(
        isinstance(s, DefaultSampler) and (s.seed, s.shuffle, s.round_up) == (4, True, False)
        for s in samplers
    )
    assert sorted(_indices(shards[0]) + _indices(shards[1])) == list(range(9))


class _Custom(Sampler[int]):
    def __init__(self, n: int) -> None:
        self.n = n

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.n - 1, -1, -1))

    def __len__(self) -> int:
        return self.n


class _CustomBatches(Sampler[list[int]]):
    def __iter__(self) -> Iterator[list[int]]:
        return iter([[0, 1], [2, 3]])

    def __len__(self) -> int:
        return 2


class _Stream(IterableDataset[int]):
    def __iter__(self) -> Iterator[int]:
        return iter(range(4))


class _MyLoader(DataLoader[object]):
    pass


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (
            lambda ds: DataLoader(ds, batch_sampler=_CustomBatches()),
            "its batch_sampler (_CustomBatches) is a custom class",
        ),
        (
            lambda ds: DataLoader(ds, sampler=_Custom(len(ds))),
            "its sampler (_Custom) is a sampler class the runner cannot shard",
        ),
        (
            lambda ds: DataLoader(ds, sampler=WeightedRandomSampler([1.0] * len(ds), 5)),
            "its sampler (WeightedRandomSampler)",
        ),
        (
            lambda ds: DataLoader(ds, sampler=RandomSampler(ds, replacement=True)),
            "draws with replacement or a fixed number of samples",
        ),
        (lambda ds: DataLoader(_Stream(), batch_size=2), "an IterableDataset (_Stream) cannot be sharded"),
        (lambda ds: _MyLoader(ds, batch_size=2), "a _MyLoader (a DataLoader subclass)"),
        (
            lambda ds: DataLoader(ds, sampler=DistributedSampler(ds, num_replicas=4, rank=0)),
            "shards for rank 0 of 4, but this process is rank 1 of 2",
        ),
    ],
)
def test_what_cannot_be_sharded_safely_is_refused_with_the_fix(make, fragment: str) -> None:  # type: ignore[no-untyped-def]
    loader = make(_data(8))
    with pytest.raises(UsageError) as info:
        adapt_user_loader(loader, name="train_dataloader", rank=1, world_size=2, seed=0, training=True)
    message = str(info.value)
    assert message.startswith("train_dataloader: ") and fragment in message
    assert "DataLoaderConfig" in message or "map-style" in message
    if "shards for rank" in fragment:  # a quarter of the data in one process is wrong too
        with pytest.raises(UsageError, match="this process is rank 0 of 1"):
            adapt_user_loader(loader, name="train_dataloader", rank=0, world_size=1, seed=0, training=True)
        return
    # in one process nothing needs sharding: the loader is used as it is
    assert (
        adapt_user_loader(loader, name="train_dataloader", rank=0, world_size=1, seed=0, training=True).loader
        is loader
    )


def test_a_sampler_that_declares_its_shard_is_trusted() -> None:
    class Sharded(_Custom):
        def __init__(self, n: int, rank: int, world_size: int) -> None:
            super().__init__(n)
            self.rank, self.world_size = rank, world_size

    ds = _data(8)
    loader = DataLoader(ds, sampler=Sharded(8, 1, 2))
    assert adapt_user_loader(loader, name="x", rank=1, world_size=2, seed=0, training=True).loader is loader
    with pytest.raises(UsageError):
        adapt_user_loader(loader, name="x", rank=0, world_size=2, seed=0, training=True)


def test_evaluation_with_drop_last_is_refused_under_ddp() -> None:
    loader = DataLoader(_data(9), batch_size=2, drop_last=True)
    with pytest.raises(UsageError, match="val_dataloader: drop_last=True on an evaluation loader"):
        adapt_user_loader(loader, name="val_dataloader", rank=0, world_size=2, seed=0, training=False)


def test_in_one_process_evaluation_loaders_stay_and_training_loaders_become_resumable() -> None:
    ds = _data(10)
    val = DataLoader(ds, batch_size=3)
    assert (
        adapt_user_loader(val, name="val_dataloader", rank=0, world_size=1, seed=0, training=False).loader
        is val
    )

    seq = adapt_user_loader(
        DataLoader(ds, batch_size=3), name="train_dataloader", rank=0, world_size=1, seed=0, training=True
    )
    assert isinstance(seq.loader.sampler, DefaultSampler) and _indices(seq.loader) == list(range(10))
    assert (
        seq.note is not None
        and "(the same order)" in seq.note
        and "resume continues mid-epoch exactly" in seq.note
    )

    shuffled = DataLoader(ds, batch_size=3, shuffle=True, generator=torch.Generator().manual_seed(5))
    adapted = adapt_user_loader(
        shuffled, name="train_dataloader", rank=0, world_size=1, seed=0, training=True
    )
    sampler = adapted.loader.sampler
    assert isinstance(sampler, DefaultSampler) and sampler.seed == 5
    # the order changes, and the log line says so
    assert adapted.note is not None and "not the RandomSampler's" in adapted.note
    sampler.set_start(4)  # what a mid-epoch resume does
    assert _indices(adapted.loader) == sampler.rank_indices()[4:]
