"""Seeding covers python, numpy and torch; deterministic mode sets torch's switches (strict or warn-only)."""

from __future__ import annotations

import random

import numpy as np
import torch

from typedengine.runner.randomness import set_random_seed


def test_same_seed_same_streams() -> None:
    set_random_seed(11)
    a = (random.random(), float(np.random.rand()), float(torch.rand(())))
    set_random_seed(11)
    b = (random.random(), float(np.random.rand()), float(torch.rand(())))
    assert a == b


def test_no_seed_draws_one_and_reports_it() -> None:
    seed = set_random_seed(None)
    first = float(torch.rand(()))
    assert set_random_seed(seed) == seed
    assert float(torch.rand(())) == first


def test_deterministic_warn_only() -> None:
    try:
        set_random_seed(0, deterministic="warn")
        assert torch.are_deterministic_algorithms_enabled()
        assert torch.is_deterministic_algorithms_warn_only_enabled()
        assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
    finally:
        torch.use_deterministic_algorithms(False)
        torch.backends.cudnn.deterministic = False
