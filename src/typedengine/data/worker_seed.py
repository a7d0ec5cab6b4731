"""Per-worker seeding for DataLoader workers that changes every epoch.

MMEngine seeds worker ``w`` of rank ``r`` with ``seed + num_workers * r + w``, the same every epoch, so
random augmentations repeat epoch after epoch when workers are re-created. :class:`WorkerSeeder` mixes
``(seed, rank, worker_id, epoch)`` through :class:`numpy.random.SeedSequence`, so every worker of every
rank in every epoch draws a different, reproducible stream.

Example::

    sampler = DefaultSampler(len(ds), seed=seed)
    loader = DataLoader(ds, sampler=sampler, num_workers=4, worker_init_fn=WorkerSeeder(seed, rank, sampler))

The epoch is read from ``sampler.epoch`` when a worker starts. Non-persistent workers start every epoch,
so they see the new epoch; persistent workers are seeded once and keep advancing their streams.
"""

from __future__ import annotations

import random
from typing import Protocol

import numpy as np

__all__ = ["HasEpoch", "WorkerSeeder", "worker_seeds"]


class HasEpoch(Protocol):
    """Anything with the current epoch, such as :class:`typedengine.data.samplers.DefaultSampler`."""

    @property
    def epoch(self) -> int: ...


def worker_seeds(seed: int, rank: int, worker_id: int, epoch: int) -> tuple[int, int, int]:
    """The (python, numpy, torch) seeds of one worker: distinct for any change of the four inputs."""
    if min(seed, rank, worker_id, epoch) < 0:
        raise ValueError(
            f"worker seeds need non-negative inputs, got seed={seed} rank={rank} "
            f"worker_id={worker_id} epoch={epoch}"
        )
    words = np.random.SeedSequence([seed, rank, worker_id, epoch]).generate_state(4, dtype=np.uint32)
    python_seed = int(words[0])
    numpy_seed = int(words[1])
    torch_seed = (int(words[2]) << 32) | int(words[3])
    return python_seed, numpy_seed, torch_seed & ((1 << 63) - 1)


class WorkerSeeder:
    """A picklable ``worker_init_fn`` seeding python, numpy and torch from (seed, rank, worker, epoch).

    ``sampler`` may be ``None`` (epoch 0 is used), e.g. for an evaluation loader.
    """

    def __init__(self, seed: int, rank: int, sampler: HasEpoch | None) -> None:
        self.seed = seed
        self.rank = rank
        self.sampler = sampler

    def __call__(self, worker_id: int) -> None:
        import torch

        epoch = self.sampler.epoch if self.sampler is not None else 0
        python_seed, numpy_seed, torch_seed = worker_seeds(self.seed, self.rank, worker_id, epoch)
        random.seed(python_seed)
        np.random.seed(numpy_seed)
        torch.manual_seed(torch_seed)
