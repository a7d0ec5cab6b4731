"""typedengine.checkpoint: atomic, verified, pickle-free checkpoints, exact resume and weight loading.

- :mod:`.io` — write/read one checkpoint file (temp file + fsync + rename, checksum trailer,
  ``torch.load(weights_only=True)``), the ``last_checkpoint`` pointer.
- :mod:`.writer` — the background writer thread and what the training thread freezes for it.
- :mod:`.contents` — what a checkpoint holds; gather it from a runner, apply it to one; the runner's
  resume / load_from entry points.
- :mod:`.compat` — the config diff shown (and enforced) on resume.
- :mod:`.rng` — RNG states as plain data. :mod:`.load` — weights with key renaming and a report.
- :mod:`.export` — release files (safetensors) of selected keys. :mod:`.preemption` — signals → save → exit 75.

Importing this package does not import torch.
"""

from __future__ import annotations

from .compat import CompatReport, CompatRule, ConfigDifference, check_resume_compat, diff_configs
from .contents import (
    apply_checkpoint,
    committed_progress,
    gather_checkpoint,
    load_from_file,
    resume_compat,
    resume_from_file,
)
from .errors import CheckpointError, IncompatibleResumeError, WeightsMismatchError
from .export import export_checkpoint
from .io import (
    LAST_CHECKPOINT,
    encode_checkpoint,
    file_checksum,
    find_latest,
    load_checkpoint_file,
    remove_stale_temporaries,
    save_checkpoint_file,
    write_pointer,
)
from .load import DEFAULT_REVISE_KEYS, LoadReport, load_weights, read_weights, rename_keys
from .preemption import PREEMPTED_EXIT_CODE, Preempted, PreemptionHandler
from .rng import capture_rng_state, restore_rng_state

__all__ = [
    "DEFAULT_REVISE_KEYS",
    "LAST_CHECKPOINT",
    "PREEMPTED_EXIT_CODE",
    "CheckpointError",
    "CompatReport",
    "CompatRule",
    "ConfigDifference",
    "IncompatibleResumeError",
    "LoadReport",
    "Preempted",
    "PreemptionHandler",
    "WeightsMismatchError",
    "apply_checkpoint",
    "capture_rng_state",
    "check_resume_compat",
    "committed_progress",
    "diff_configs",
    "encode_checkpoint",
    "export_checkpoint",
    "file_checksum",
    "find_latest",
    "gather_checkpoint",
    "load_checkpoint_file",
    "load_from_file",
    "load_weights",
    "read_weights",
    "remove_stale_temporaries",
    "rename_keys",
    "restore_rng_state",
    "resume_compat",
    "resume_from_file",
    "save_checkpoint_file",
    "write_pointer",
]
