"""Distributed: the launcher environment, the process group, and collectives that are identities in one process.

- :mod:`.env` — ``DistEnv`` (torchrun / SLURM / MPI variables), launcher detection.
- :mod:`.process_group` — ``DistConfig``, starting and ending the process group.
- :mod:`.ops` — ``get_rank``, ``all_reduce``, ``broadcast_object``, ... (no-ops at world size 1).
- :mod:`.failure` — turning a dead peer into one clear error.

Public names are in :mod:`typedengine`; this package re-exports nothing.
"""
