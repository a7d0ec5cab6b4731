"""Seeding: python, numpy and torch from one seed; optional deterministic kernels (strict or warn-only)."""

from __future__ import annotations

import os
import random
from typing import Literal

from pydantic import Field

from ..config.base import Config

__all__ = ["RandomnessConfig", "set_random_seed"]


class RandomnessConfig(Config):
    """Seed and determinism of a run."""

    seed: int | None = Field(
        None, ge=0, lt=2**32, description="Global seed; None draws one on rank 0 and shares it with all ranks."
    )
    diff_rank_seed: bool = Field(False, description="Add the rank to the seed so ranks draw different numbers.")
    deterministic: bool | Literal["warn"] = Field(
        False,
        description="Use deterministic kernels: True raises on non-deterministic ops, 'warn' only warns.",
    )


def set_random_seed(
    seed: int | None, *, deterministic: bool | Literal["warn"] = False, diff_rank_seed: bool = False
) -> int:
    """Seed python, numpy and torch (all devices). Returns the seed used (before adding the rank).

    ``seed=None`` draws a seed on rank 0 and broadcasts it, so every rank agrees.
    """
    import numpy as np
    import torch

    from ..distributed.ops import get_rank, sync_random_seed

    if seed is None:
        seed = sync_random_seed()
    effective = seed + get_rank() if diff_rank_seed else seed
    random.seed(effective)
    np.random.seed(effective % 2**32)
    torch.manual_seed(effective)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
        torch.use_deterministic_algorithms(True, warn_only=deterministic == "warn")
    return seed
