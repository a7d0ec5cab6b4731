"""Checkpoints: atomic, verified, pickle-free files, exact resume and weight loading.

- :mod:`.io` — write/read one checkpoint file (temp file + fsync + rename, checksum trailer,
  ``torch.load(weights_only=True)``), the ``last_checkpoint`` pointer.
- :mod:`.writer` — the background writer thread and what the training thread freezes for it.
- :mod:`.contents` — what a checkpoint holds; gather it from a runner, apply it to one; the runner's
  resume / load_from entry points.
- :mod:`.compat` — the config diff shown (and enforced) on resume.
- :mod:`.rng` — RNG states as plain data. :mod:`.load` — weights with key renaming and a report.
- :mod:`.export` — release files (safetensors) of selected keys. :mod:`.preemption` — signals → save → exit 75.
- :mod:`.errors` — the checkpoint errors users see.

The public names (``find_latest``, ``load_checkpoint_file``) are in :mod:`typedengine`; this package
re-exports nothing.
"""
