"""Data: dataset and dataloader configs, samplers (seeded, rank-aware, resumable), collation, worker seeding."""

from .collate import CollateName, pseudo_collate
from .dataloader import DataLoaderConfig, build_dataloader
from .dataset import DatasetConfig
from .samplers import DefaultSampler, InfiniteSampler
from .worker_seed import WorkerSeeder

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
