"""DataLoaders the user built: give each rank its shard, or refuse with the fix.

A ``DataLoader`` handed to the Runner was built without knowing the process group, so under DDP every rank
would read the whole dataset (and distributed evaluation would count samples several times).
:func:`adapt_user_loader` rebuilds such a loader around the distributed equivalent of its own sampling:

==============================================  ============================================================
the loader's sampling                           becomes
==============================================  ============================================================
``SequentialSampler`` (``shuffle=False``)       ``DefaultSampler(shuffle=False)``: same order, sharded
``RandomSampler`` (``shuffle=True``)            ``DefaultSampler(shuffle=True, seed=S)``: ``S`` is the
                                                generator's seed (``generator.initial_seed()``), else the
                                                run's seed; rank 0's value is used on every rank
``BatchSampler`` of one of those                the same, with its batch size and ``drop_last``
a sharded ``DefaultSampler`` /                  unchanged when its rank and world size are this process's;
``DistributedSampler``                          a ``DefaultSampler`` built before the group existed
                                                (world size 1) is rebuilt for this rank
==============================================  ============================================================

Every other loader setting is kept (batch size, collate_fn, workers, pin_memory, drop_last,
worker_init_fn, persistent_workers, prefetch_factor, timeout, multiprocessing_context, generator).
What cannot be sharded safely stops the run before training with a :class:`~typedengine.errors.UsageError`
naming the fix: a custom sampler or batch_sampler class, a sampler drawing with replacement, an
``IterableDataset``, a ``DataLoader`` subclass, and ``drop_last=True`` on an evaluation loader (it would
drop a different set of samples than in one process). A custom sampler, batch sampler or iterable
dataset that shards itself is accepted when it says so: ``rank`` and ``world_size`` (or
``num_replicas``) attributes equal to this process's.

In a single process evaluation loaders are left alone; a training loader's ``SequentialSampler`` or
``RandomSampler`` is replaced as well, because typedengine's sampler can resume mid-epoch exactly
(``set_start``). For a ``SequentialSampler`` the order is the same; for a ``RandomSampler`` the order
becomes DefaultSampler's permutation seeded ``S + epoch``, and the log line says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import UsageError

if TYPE_CHECKING:
    import torch
    from torch.utils.data import DataLoader, Sampler

__all__ = ["Adapted", "adapt_user_loader", "declared_shard"]

_FIX = (
    "Pass a DataLoaderConfig (typedengine builds the sharded loader), or give the loader "
    "sampler=typedengine.DefaultSampler(len(dataset), seed=...) or a torch DistributedSampler"
)


@dataclass(frozen=True)
class Adapted:
    """The loader to use and, when it was rebuilt, the line that says what changed."""

    loader: DataLoader[object]
    note: str | None = None


def declared_shard(obj: object) -> tuple[int, int] | None:
    """``(rank, world_size)`` an object says it shards for (``rank`` + ``world_size``/``num_replicas``)."""
    rank = getattr(obj, "rank", None)
    world = getattr(obj, "world_size", None)
    if world is None:
        world = getattr(obj, "num_replicas", None)
    if isinstance(rank, int) and isinstance(world, int) and not isinstance(rank, bool):
        return rank, world
    return None


def _generator_seed(*owners: object) -> int | None:
    import torch

    for owner in owners:
        generator = getattr(owner, "generator", None)
        if isinstance(generator, torch.Generator):
            return int(generator.initial_seed())
    return None


def adapt_user_loader(
    loader: DataLoader[object], *, name: str, rank: int, world_size: int, seed: int, training: bool
) -> Adapted:
    """The loader each rank should iterate (see the module docstring); raises UsageError when unsafe.

    ``name`` is the Runner argument (``train_dataloader``) used in messages; ``seed`` the run's base seed
    (the same on every rank). Under ``world_size > 1`` this may broadcast one integer from rank 0 (the
    shuffle seed), so every rank must call it for the same loaders in the same order, as the Runner does.
    """
    from torch.utils.data import BatchSampler, DataLoader, IterableDataset

    where = f"rank {rank} of {world_size}"
    dataset = loader.dataset
    if isinstance(dataset, IterableDataset):
        if world_size == 1 or declared_shard(dataset) == (rank, world_size):
            return Adapted(loader)
        raise UsageError(
            f"{name}: an IterableDataset ({type(dataset).__name__}) cannot be sharded by the runner: each of "
            f"the {world_size} processes would read the whole stream. Use a map-style dataset with a "
            f"DataLoaderConfig, or split the stream per rank yourself and give the dataset attributes "
            f"rank={rank} and world_size={world_size} (this process's) to say so"
        )
    if type(loader) is not DataLoader:
        if world_size == 1:
            return Adapted(loader)
        raise UsageError(
            f"{name}: a {type(loader).__name__} (a DataLoader subclass) cannot be rebuilt with a sharded "
            f"sampler without losing what the subclass does. {_FIX}"
        )

    batch_size: int | None = loader.batch_size
    drop_last = loader.drop_last
    sampler: object = loader.sampler
    given_batches = loader.batch_size is None and loader.batch_sampler is not None
    if given_batches:
        batch_sampler = loader.batch_sampler
        if type(batch_sampler) is not BatchSampler:
            if world_size == 1 or _shards_itself(batch_sampler, rank, world_size):
                return Adapted(loader)
            raise UsageError(
                f"{name}: its batch_sampler ({type(batch_sampler).__name__}) is a custom class the runner "
                f"cannot shard, so every process would train on the whole dataset. {_FIX}; "
                f"or make the batch sampler shard by rank and give it attributes rank={rank} and "
                f"world_size={world_size}"
            )
        batch_size, drop_last, sampler = (
            batch_sampler.batch_size,
            batch_sampler.drop_last,
            batch_sampler.sampler,
        )

    if not training and world_size > 1 and drop_last:
        raise UsageError(
            f"{name}: drop_last=True on an evaluation loader drops a different set of samples with "
            f"{world_size} processes than with one, so the metrics would not be comparable; set "
            "drop_last=False"
        )

    plan = _plan_sampler(
        loader, sampler, name=name, rank=rank, world_size=world_size, seed=seed, training=training
    )
    if plan is None:
        return Adapted(loader)
    new_sampler, what = plan
    rebuilt = _rebuild(loader, new_sampler, batch_size=batch_size, drop_last=drop_last, rank=rank)
    if world_size > 1:
        note = f"{name} ({where}): {what}; every other loader setting is kept"
    else:
        note = f"{name}: {what}, so that a resume continues mid-epoch exactly"
    return Adapted(rebuilt, note)


def _shards_itself(obj: object, rank: int, world_size: int) -> bool:
    """Whether ``obj`` (or the sampler it wraps) declares this process's shard."""
    return any(declared_shard(o) == (rank, world_size) for o in (obj, getattr(obj, "sampler", None)))


def _plan_sampler(
    loader: DataLoader[object],
    sampler: object,
    *,
    name: str,
    rank: int,
    world_size: int,
    seed: int,
    training: bool,
) -> tuple[Sampler[int], str] | None:
    """The replacement sampler and a description, or None to keep the loader as it is."""
    from torch.utils.data import DistributedSampler, RandomSampler, SequentialSampler

    from .samplers import DefaultSampler, InfiniteSampler

    size = len(loader.dataset)  # type: ignore[arg-type]  # map-style datasets define __len__
    if isinstance(sampler, (DefaultSampler, InfiniteSampler, DistributedSampler)):
        shard = declared_shard(sampler)
        if shard == (rank, world_size):
            return None
        if isinstance(sampler, (DefaultSampler, InfiniteSampler)) and shard is not None and shard[1] == 1:
            # built before the process group existed: the same sampler, for this rank
            if isinstance(sampler, DefaultSampler):
                new: Sampler[int] = DefaultSampler(
                    sampler.size,
                    shuffle=sampler.shuffle,
                    seed=sampler.seed,
                    round_up=sampler.round_up,
                    rank=rank,
                    world_size=world_size,
                )
            else:
                new = InfiniteSampler(
                    sampler.size, shuffle=sampler.shuffle, seed=sampler.seed, rank=rank, world_size=world_size
                )
            return new, f"{type(sampler).__name__} built for one process rebuilt with the same settings"
        raise UsageError(
            f"{name}: its {type(sampler).__name__} shards for rank {shard[0] if shard else '?'} of "
            f"{shard[1] if shard else '?'}, but this process is rank {rank} of {world_size}; build the "
            "sampler "
            f"after the process group exists (or pass rank=/world_size= matching the launch). {_FIX}"
        )
    if world_size == 1 and not training:
        return None  # nothing to shard, nothing to resume
    if type(sampler) is SequentialSampler:
        new = DefaultSampler(size, shuffle=False, seed=seed, rank=rank, world_size=world_size)
        return new, "SequentialSampler replaced by DefaultSampler(shuffle=False) (the same order)"
    if type(sampler) is RandomSampler and not sampler.replacement and sampler._num_samples is None:
        shuffle_seed = _agreed_seed(_generator_seed(sampler, loader), seed, world_size)
        new = DefaultSampler(size, shuffle=True, seed=shuffle_seed, rank=rank, world_size=world_size)
        return new, (
            f"RandomSampler replaced by DefaultSampler(shuffle=True, seed={shuffle_seed}): the sample order "
            f"is its permutation seeded {shuffle_seed} + epoch, not the RandomSampler's"
        )
    if world_size == 1 or _shards_itself(sampler, rank, world_size):
        return None
    kind = type(sampler).__name__
    why = (
        "draws with replacement or a fixed number of samples"
        if isinstance(sampler, RandomSampler)
        else ("is a sampler class the runner cannot shard")
    )
    raise UsageError(
        f"{name}: its sampler ({kind}) {why}, so every process would read the same samples. {_FIX}"
        f"; or make the sampler shard by rank and give it attributes rank={rank} and "
        f"world_size={world_size}"
    )


def _agreed_seed(own: int | None, run_seed: int, world_size: int) -> int:
    """The shuffle seed of rank 0 on every rank (a generator seeded per rank would overlap the shards)."""
    value = own if own is not None else run_seed
    if world_size == 1:
        return value
    from ..distributed.ops import broadcast_object

    return broadcast_object(value, src=0)


def _rebuild(
    loader: DataLoader[object], sampler: Sampler[int], *, batch_size: int | None, drop_last: bool, rank: int
) -> DataLoader[object]:
    from torch.utils.data import DataLoader

    from .worker_seed import WorkerSeeder

    worker_init_fn = loader.worker_init_fn
    if isinstance(worker_init_fn, WorkerSeeder):  # typedengine's seeder follows the new sampler's epoch
        worker_init_fn = WorkerSeeder(worker_init_fn.seed, rank, sampler)  # type: ignore[arg-type]
    kwargs: dict[str, object] = {}
    if loader.num_workers > 0:
        kwargs["prefetch_factor"] = loader.prefetch_factor
        kwargs["persistent_workers"] = loader.persistent_workers
    for optional in ("pin_memory_device", "in_order"):  # newer torch keywords, passed only when present
        if hasattr(loader, optional):
            kwargs[optional] = getattr(loader, optional)
    generator: torch.Generator | None = loader.generator
    return DataLoader(
        loader.dataset,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=loader.num_workers,
        collate_fn=loader.collate_fn,
        pin_memory=loader.pin_memory,
        drop_last=drop_last,
        timeout=loader.timeout,
        worker_init_fn=worker_init_fn,
        multiprocessing_context=loader.multiprocessing_context,
        generator=generator,
        **kwargs,  # type: ignore[arg-type]  # optional DataLoader keywords, set only when valid
    )
