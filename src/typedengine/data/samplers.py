"""Rank-aware samplers: every rank sees its own shard, every epoch a new seeded shuffle.

:class:`DefaultSampler` serves epoch-based runs. The dataset indices are permuted with a generator seeded
``seed + epoch`` (the same permutation on every rank), padded by repeating indices up to a multiple of the
world size (``round_up``) and then strided by rank: rank ``r`` gets ``indices[r::world_size]``.

:class:`InfiniteSampler` serves iteration-based runs: an endless stream made of one permutation per pass
over the dataset (pass ``k`` seeded ``seed + epoch + k``), strided by rank in the same way.

Both can resume mid-stream without loading skipped samples: ``set_start(n)`` makes the next iteration skip
the first ``n`` indices this rank would have produced.

Example::

    sampler = DefaultSampler(len(dataset), shuffle=True, seed=cfg.seed)
    loader = DataLoader(dataset, batch_size=32, sampler=sampler)
    for epoch in range(max_epochs):
        sampler.set_epoch(epoch)
        for batch in loader:
            ...

Pass the run's base seed on every rank (not a rank-offset seed), or the shards stop being disjoint.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch
from torch.utils.data import Sampler

from typedengine.distributed.ops import get_rank, get_world_size

__all__ = ["DefaultSampler", "InfiniteSampler"]


def _check_rank(rank: int | None, world_size: int | None) -> tuple[int, int]:
    r = get_rank() if rank is None else rank
    w = get_world_size() if world_size is None else world_size
    if w < 1:
        raise ValueError(f"world_size must be >= 1, got {w}")
    if not 0 <= r < w:
        raise ValueError(f"rank must be in [0, {w}), got {r}")
    return r, w


def _permutation(size: int, shuffle: bool, seed: int) -> list[int]:
    if not shuffle:
        return list(range(size))
    generator = torch.Generator()
    generator.manual_seed(seed)
    return torch.randperm(size, generator=generator).tolist()


class DefaultSampler(Sampler[int]):
    """Shards ``range(size)`` by rank, shuffled with ``seed + epoch``, optionally padded to equal shards.

    With ``round_up=True`` (the default) every rank yields ``ceil(size / world_size)`` indices; the first
    few indices are repeated to fill the last stride, and
    :func:`typedengine.evaluation.collect.collect_results` drops those duplicates again. With
    ``round_up=False`` rank ``r`` yields ``ceil((size - r) / world_size)`` indices and nothing repeats.

    ``rank`` and ``world_size`` default to the current process group's (0 and 1 without one).
    """

    def __init__(
        self,
        size: int,
        *,
        shuffle: bool = True,
        seed: int = 0,
        round_up: bool = True,
        rank: int | None = None,
        world_size: int | None = None,
    ) -> None:
        super().__init__()
        if size < 0:
            raise ValueError(f"size must be >= 0, got {size}")
        self.size = size
        self.shuffle = shuffle
        self.seed = seed
        self.round_up = round_up
        self.rank, self.world_size = _check_rank(rank, world_size)
        if round_up:
            self.num_samples = math.ceil(size / self.world_size)
            self.total_size = self.num_samples * self.world_size
        else:
            self.num_samples = math.ceil(max(size - self.rank, 0) / self.world_size)
            self.total_size = size
        self._epoch = 0
        self._start = 0

    @property
    def epoch(self) -> int:
        """The epoch whose permutation the next iteration uses."""
        return self._epoch

    @property
    def start(self) -> int:
        """How many of this rank's indices the next iteration skips (0 unless :meth:`set_start` was called)."""
        return self._start

    def set_epoch(self, epoch: int) -> None:
        """Use permutation ``seed + epoch`` from the next iteration on (a pending :meth:`set_start` stays)."""
        self._epoch = epoch

    def set_start(self, num_samples: int) -> None:
        """Make the next iteration skip this rank's first ``num_samples`` indices (for mid-epoch resume).

        The skip applies once: iterations after the next one start from the beginning again.
        """
        if not 0 <= num_samples <= self.num_samples:
            raise ValueError(f"set_start: num_samples must be in [0, {self.num_samples}], got {num_samples}")
        self._start = num_samples

    def rank_indices(self) -> list[int]:
        """This rank's indices for the current epoch, ignoring any pending :meth:`set_start`."""
        indices = _permutation(self.size, self.shuffle, self.seed + self._epoch)
        if self.round_up and self.size > 0 and self.total_size > self.size:
            repeats = math.ceil(self.total_size / self.size)
            indices = (indices * repeats)[: self.total_size]
        return indices[self.rank : self.total_size : self.world_size]

    def __iter__(self) -> Iterator[int]:
        start, self._start = self._start, 0
        return iter(self.rank_indices()[start:])

    def __len__(self) -> int:
        """Indices this rank yields in a full epoch (a pending :meth:`set_start` is not subtracted)."""
        return self.num_samples


class InfiniteSampler(Sampler[int]):
    """An endless, rank-strided stream of permutations of ``range(size)`` for iteration-based training.

    The global stream concatenates one permutation per pass, pass ``k`` seeded ``seed + epoch + k``; rank
    ``r`` takes stream positions ``r, r + world_size, r + 2 * world_size, ...``. It has no length.
    """

    def __init__(
        self,
        size: int,
        *,
        shuffle: bool = True,
        seed: int = 0,
        rank: int | None = None,
        world_size: int | None = None,
    ) -> None:
        super().__init__()
        if size < 1:
            raise ValueError(f"InfiniteSampler needs a non-empty dataset, got size={size}")
        self.size = size
        self.shuffle = shuffle
        self.seed = seed
        self.rank, self.world_size = _check_rank(rank, world_size)
        self._epoch = 0
        self._start = 0

    @property
    def epoch(self) -> int:
        """Offset added to every pass's seed (0 unless :meth:`set_epoch` was called)."""
        return self._epoch

    @property
    def start(self) -> int:
        """How many of this rank's indices the next iteration skips."""
        return self._start

    def set_epoch(self, epoch: int) -> None:
        """Shift the stream: pass ``k`` of the next iteration is seeded ``seed + epoch + k``."""
        self._epoch = epoch

    def set_start(self, num_samples: int) -> None:
        """Make the next iteration skip this rank's first ``num_samples`` indices since the run began.

        The position is computed (pass ``(rank + n * world_size) // size``), not replayed, so resuming after
        millions of samples costs one permutation. The skip applies to the next iteration only.
        """
        if num_samples < 0:
            raise ValueError(f"set_start: num_samples must be >= 0, got {num_samples}")
        self._start = num_samples

    def __iter__(self) -> Iterator[int]:
        start, self._start = self._start, 0
        return self._stream(self.rank + start * self.world_size, self._epoch)

    def _stream(self, position: int, epoch: int) -> Iterator[int]:
        while True:
            pass_index, offset = divmod(position, self.size)
            perm = _permutation(self.size, self.shuffle, self.seed + epoch + pass_index)
            chunk = perm[offset :: self.world_size]
            yield from chunk
            position += len(chunk) * self.world_size
