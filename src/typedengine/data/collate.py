"""Collate functions: ``default`` stacks samples into batch tensors; ``pseudo`` keeps lists of samples."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

__all__ = ["CollateName", "pseudo_collate", "resolve_collate"]

CollateName = Literal["default", "pseudo"]


def pseudo_collate(batch: Sequence[object]) -> object:
    """Transpose a list of samples without stacking: a list of dicts becomes a dict of lists, a list of
    tuples a tuple of lists (MMEngine's default, for samples of different sizes)."""
    if not batch:
        return []
    first = batch[0]
    if isinstance(first, Mapping):
        return {k: pseudo_collate([s[k] for s in batch if isinstance(s, Mapping)]) for k in first}
    if isinstance(first, tuple) and not hasattr(first, "_fields"):
        return tuple(pseudo_collate(list(col)) for col in zip(*batch))
    return list(batch)


def resolve_collate(name: CollateName) -> object:
    """The collate function named by a config."""
    if name == "pseudo":
        return pseudo_collate
    from torch.utils.data import default_collate

    return default_collate
