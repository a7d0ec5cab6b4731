"""Data: dataset and dataloader configs, samplers (seeded, rank-aware, resumable), collation, worker seeding."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy_imports import lazy_getattr

_EXPORTS: dict[str, str] = {
    "CollateName": ".collate",
    "pseudo_collate": ".collate",
    "DataLoaderConfig": ".dataloader",
    "build_dataloader": ".dataloader",
    "DatasetConfig": ".dataset",
    "DefaultSampler": ".samplers",
    "InfiniteSampler": ".samplers",
    "WorkerSeeder": ".worker_seed",
}

__all__ = [
    "CollateName",
    "DataLoaderConfig",
    "DatasetConfig",
    "DefaultSampler",
    "InfiniteSampler",
    "WorkerSeeder",
    "build_dataloader",
    "pseudo_collate",
]

if TYPE_CHECKING:
    from .collate import CollateName as CollateName
    from .collate import pseudo_collate as pseudo_collate
    from .dataloader import DataLoaderConfig as DataLoaderConfig
    from .dataloader import build_dataloader as build_dataloader
    from .dataset import DatasetConfig as DatasetConfig
    from .samplers import DefaultSampler as DefaultSampler
    from .samplers import InfiniteSampler as InfiniteSampler
    from .worker_seed import WorkerSeeder as WorkerSeeder

__getattr__ = lazy_getattr(__name__, _EXPORTS)
