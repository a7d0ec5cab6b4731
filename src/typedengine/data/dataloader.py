"""DataLoaderConfig[DatasetT_co]: a typed dataloader description, generic over the dataset config.

``DataLoaderConfig[DigitsData](dataset=DigitsData(), batch_size=64)`` keeps the concrete dataset type for
mypy, the CLI (``--train-dataloader.dataset.*`` flags) and the JSON round trip. The sampler is chosen by
the loop that uses the loader: a :class:`~typedengine.data.samplers.DefaultSampler` (seeded,
epoch-aware, rank-aware) for epoch loops and evaluation, an
:class:`~typedengine.data.samplers.InfiniteSampler` for iteration-based training.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Generic, TypeVar

from pydantic import Field, model_validator

from ..config.base import Config
from .collate import CollateName, resolve_collate
from .dataset import DatasetConfig

if TYPE_CHECKING:
    from torch.utils.data import DataLoader

__all__ = ["DataLoaderConfig", "build_dataloader"]

DatasetT_co = TypeVar("DatasetT_co", bound=DatasetConfig, covariant=True)


class DataLoaderConfig(Config, Generic[DatasetT_co]):
    """A dataloader: dataset, batch size, workers, shuffling and collation."""

    dataset: DatasetT_co = Field(description="The dataset to load.")
    batch_size: int = Field(32, ge=1, description="Samples per batch on each process.")
    num_workers: int = Field(0, ge=0, description="Worker processes loading data (0 = in the main process).")
    shuffle: bool = Field(True, description="Shuffle with a permutation seeded by (seed, epoch).")
    drop_last: bool = Field(False, description="Drop the last incomplete batch of an epoch.")
    pin_memory: bool = Field(False, description="Copy batches into pinned memory (faster host-to-GPU copies).")
    persistent_workers: bool = Field(False, description="Keep worker processes alive between epochs.")
    prefetch_factor: int | None = Field(None, ge=1, description="Batches each worker loads ahead (None: torch default).")
    collate: CollateName = Field(
        "default", description="'default' stacks samples into tensors; 'pseudo' keeps lists (variable-size samples)."
    )

    @model_validator(mode="after")
    def _check_workers(self) -> DataLoaderConfig[DatasetT_co]:
        if self.num_workers == 0 and (self.persistent_workers or self.prefetch_factor is not None):
            raise ValueError("persistent_workers and prefetch_factor need num_workers > 0")
        return self

    def build(self, *, seed: int, rank: int = 0, world_size: int = 1, infinite: bool = False) -> DataLoader[object]:
        """Build the dataset, its sampler and the DataLoader."""
        return build_dataloader(
            self.dataset.build(),
            batch_size=self.batch_size,
            shuffle=self.shuffle,
            seed=seed,
            rank=rank,
            world_size=world_size,
            infinite=infinite,
            num_workers=self.num_workers,
            drop_last=self.drop_last,
            pin_memory=self.pin_memory,
            persistent_workers=self.persistent_workers,
            prefetch_factor=self.prefetch_factor,
            collate=self.collate,
        )


def build_dataloader(
    dataset: object,
    *,
    batch_size: int,
    shuffle: bool,
    seed: int,
    rank: int = 0,
    world_size: int = 1,
    infinite: bool = False,
    num_workers: int = 0,
    drop_last: bool = False,
    pin_memory: bool = False,
    persistent_workers: bool = False,
    prefetch_factor: int | None = None,
    collate: CollateName = "default",
) -> DataLoader[object]:
    """A DataLoader over ``dataset`` with typedengine's seeded sampler and epoch-aware worker seeding."""
    from collections.abc import Callable
    from typing import cast

    import torch
    from torch.utils.data import DataLoader, Dataset

    from .samplers import DefaultSampler, InfiniteSampler
    from .worker_seed import WorkerSeeder

    ds = cast(Dataset[object], dataset)
    size = len(ds)  # type: ignore[arg-type]  # map-style datasets define __len__
    sampler: DefaultSampler | InfiniteSampler
    if infinite:
        sampler = InfiniteSampler(size, shuffle=shuffle, seed=seed, rank=rank, world_size=world_size)
    else:
        sampler = DefaultSampler(size, shuffle=shuffle, seed=seed, rank=rank, world_size=world_size)
    kwargs: dict[str, object] = {}
    if num_workers > 0:
        kwargs["worker_init_fn"] = WorkerSeeder(seed, rank, sampler)
        kwargs["persistent_workers"] = persistent_workers
        if prefetch_factor is not None:
            kwargs["prefetch_factor"] = prefetch_factor
    return DataLoader(
        ds,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=num_workers,
        drop_last=drop_last,
        pin_memory=pin_memory,
        collate_fn=cast(Callable[[list[object]], object], resolve_collate(collate)),
        # a private generator: creating an iterator must not consume the global RNG (dropout streams
        # would shift after a mid-epoch resume); worker seeds come from WorkerSeeder, not from it
        generator=torch.Generator().manual_seed(seed),
        **kwargs,  # type: ignore[arg-type]  # optional DataLoader keywords, set only when valid
    )
