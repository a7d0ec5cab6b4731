"""DefaultSampler / InfiniteSampler: per-rank shards, seeded epochs, padding, arithmetic resume."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from typedengine.data.samplers import DefaultSampler, InfiniteSampler


def _perm(size: int, seed: int) -> list[int]:
    g = torch.Generator()
    g.manual_seed(seed)
    return torch.randperm(size, generator=g).tolist()


def test_unshuffled_round_up_pads_with_the_first_indices_and_strides_by_rank() -> None:
    shards = [list(DefaultSampler(10, shuffle=False, rank=r, world_size=3)) for r in range(3)]
    # 10 indices padded to 12 with [0, 1], then rank r takes positions r, r+3, ...
    padded = list(range(10)) + [0, 1]
    assert shards == [padded[r::3] for r in range(3)]
    assert shards == [[0, 3, 6, 9], [1, 4, 7, 0], [2, 5, 8, 1]]
    assert all(len(DefaultSampler(10, shuffle=False, rank=r, world_size=3)) == 4 for r in range(3))


def test_no_round_up_gives_disjoint_uneven_shards() -> None:
    samplers = [DefaultSampler(10, shuffle=False, round_up=False, rank=r, world_size=3) for r in range(3)]
    shards = [list(s) for s in samplers]
    assert shards == [[0, 3, 6, 9], [1, 4, 7], [2, 5, 8]]
    assert [len(s) for s in samplers] == [4, 3, 3]


@pytest.mark.parametrize("size,world", [(10, 3), (7, 2), (8, 4), (3, 5), (1, 2)])
def test_shuffled_shards_cover_the_epoch_permutation(size: int, world: int) -> None:
    seed, epoch = 5, 3
    samplers = [DefaultSampler(size, seed=seed, rank=r, world_size=world) for r in range(world)]
    for s in samplers:
        s.set_epoch(epoch)
    shards = [list(s) for s in samplers]
    per_rank = math.ceil(size / world)
    assert all(len(shard) == per_rank == len(s) for shard, s in zip(shards, samplers))
    perm = _perm(size, seed + epoch)
    total = per_rank * world
    padded = (perm * math.ceil(total / size))[:total]
    assert shards == [padded[r::world] for r in range(world)]
    # interleaving the shards restores the permutation; the tail is padding only
    interleaved = [shards[p % world][p // world] for p in range(total)]
    assert interleaved[:size] == perm


def test_epochs_reshuffle_deterministically() -> None:
    a = DefaultSampler(50, seed=1, rank=0, world_size=1)
    b = DefaultSampler(50, seed=1, rank=0, world_size=1)
    epoch0 = list(a)
    assert list(a) == epoch0  # same epoch, same order
    a.set_epoch(1)
    assert a.epoch == 1
    epoch1 = list(a)
    assert epoch1 != epoch0 and sorted(epoch1) == list(range(50))
    assert epoch1 == _perm(50, 2)  # seed + epoch
    b.set_epoch(1)
    assert list(b) == epoch1
    assert list(DefaultSampler(50, seed=2, rank=0, world_size=1)) == epoch1


def test_set_start_resumes_mid_epoch_once() -> None:
    s = DefaultSampler(23, seed=4, rank=1, world_size=2)
    s.set_epoch(2)
    full = list(s)
    for start in (0, 1, 5, len(s)):
        s.set_start(start)
        assert s.start == start
        assert list(s) == full[start:]
        assert s.start == 0
        assert list(s) == full  # only the next iteration skips
    # the order of set_start and set_epoch does not matter (resume restores both)
    r = DefaultSampler(23, seed=4, rank=1, world_size=2)
    r.set_start(3)
    r.set_epoch(2)
    assert list(r) == full[3:]
    with pytest.raises(ValueError, match="num_samples"):
        s.set_start(len(s) + 1)


class _RecordingDataset(Dataset[int]):
    def __init__(self, size: int) -> None:
        self.size = size
        self.loaded: list[int] = []

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> int:
        self.loaded.append(index)
        return index * 10


def test_set_start_through_a_dataloader_skips_without_loading() -> None:
    ds = _RecordingDataset(40)
    s = DefaultSampler(len(ds), seed=9, rank=0, world_size=2)
    loader = DataLoader(ds, batch_size=4, sampler=s)
    uninterrupted = [b.tolist() for b in loader]
    ds.loaded.clear()
    s.set_start(2 * 4)  # two batches already consumed before the interruption
    resumed = [b.tolist() for b in loader]
    assert resumed == uninterrupted[2:]
    assert sorted(ds.loaded) == sorted(i // 10 for batch in uninterrupted[2:] for i in batch)


def test_bad_rank_and_size_are_rejected() -> None:
    with pytest.raises(ValueError, match="rank"):
        DefaultSampler(10, rank=2, world_size=2)
    with pytest.raises(ValueError, match="size"):
        DefaultSampler(-1)
    with pytest.raises(ValueError, match="non-empty"):
        InfiniteSampler(0)
    assert list(DefaultSampler(0, rank=0, world_size=2)) == []


def _reference_stream(size: int, seed: int, epoch: int, rank: int, world: int, count: int) -> list[int]:
    """The global stream (one permutation per pass, pass k seeded seed+epoch+k), strided by rank."""
    passes = math.ceil((rank + count * world) / size) + 1
    stream = [i for k in range(passes) for i in _perm(size, seed + epoch + k)]
    return stream[rank::world][:count]


@pytest.mark.parametrize("size,world", [(10, 1), (10, 3), (7, 2), (3, 5)])
def test_infinite_sampler_stream(size: int, world: int) -> None:
    for rank in range(world):
        s = InfiniteSampler(size, seed=3, rank=rank, world_size=world)
        got = list(itertools.islice(iter(s), 40))
        assert got == _reference_stream(size, 3, 0, rank, world, 40)
    # ranks partition each stretch of the global stream
    heads = [
        list(itertools.islice(iter(InfiniteSampler(size, seed=3, rank=r, world_size=world)), size))
        for r in range(world)
    ]
    interleaved = [heads[p % world][p // world] for p in range(size)]
    assert interleaved == _perm(size, 3)


@pytest.mark.parametrize("size,world", [(10, 1), (10, 3), (7, 2), (3, 5)])
def test_infinite_set_start_matches_uninterrupted_stream(size: int, world: int) -> None:
    for rank in range(world):
        s = InfiniteSampler(size, seed=8, rank=rank, world_size=world)
        full = list(itertools.islice(iter(s), 60))
        for start in (0, 1, 4, 9, 33):
            s.set_start(start)
            assert list(itertools.islice(iter(s), 60 - start)) == full[start:]
            assert s.start == 0
        assert list(itertools.islice(iter(s), 60)) == full


def test_infinite_set_start_far_ahead_is_arithmetic() -> None:
    s = InfiniteSampler(1000, seed=0, rank=1, world_size=4)
    s.set_start(10**9)  # replaying would take minutes; computing the position takes one permutation
    got = list(itertools.islice(iter(s), 3))
    position = 1 + 10**9 * 4
    pass_index, offset = divmod(position, 1000)
    assert got == _perm(1000, pass_index)[offset::4][:3]


def test_infinite_set_epoch_shifts_the_pass_seeds() -> None:
    s = InfiniteSampler(6, seed=2, rank=0, world_size=2)
    s.set_epoch(5)
    assert s.epoch == 5
    assert list(itertools.islice(iter(s), 10)) == _reference_stream(6, 2, 5, 0, 2, 10)


def test_unshuffled_infinite_sampler_cycles() -> None:
    s = InfiniteSampler(5, shuffle=False, rank=1, world_size=2)
    assert list(itertools.islice(iter(s), 6)) == [1, 3, 0, 2, 4, 1]
