"""Data: dataset and dataloader configs, samplers (seeded, rank-aware, resumable), collation, worker seeding.

- :mod:`.dataset` — ``DatasetConfig``. :mod:`.dataloader` — ``DataLoaderConfig`` and ``build_dataloader``.
- :mod:`.samplers` — ``DefaultSampler``, ``InfiniteSampler``. :mod:`.collate` — collate functions by name.
- :mod:`.worker_seed` — per-sample seeds for data workers.

Public names are in :mod:`typedengine`; this package re-exports nothing.
"""
