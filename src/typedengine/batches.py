"""Type names for what flows through a run: a loader batch and a model step's outputs.

Batches are whatever the dataloader yields (a dict, a tuple of tensors, a list of samples); the model's
``data_preprocessor`` and ``forward`` give them meaning, so the runner treats them as opaque values.
"""

from __future__ import annotations

from typing import TypeAlias

__all__ = ["DataBatch", "StepOutputs"]

DataBatch: TypeAlias = object
"""One batch as the dataloader yields it (dict, tuple, list, tensor): opaque to the runner."""

StepOutputs: TypeAlias = object
"""What ``val_step``/``test_step`` return (predictions), handed to the evaluator and hooks."""
