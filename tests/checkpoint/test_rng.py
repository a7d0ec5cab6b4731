"""RNG state capture/restore: draws after a restore repeat exactly, also through a weights_only file."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch

from typedengine.checkpoint.io import load_checkpoint_file, save_checkpoint_file
from typedengine.checkpoint.rng import capture_rng_state, restore_rng_state


def _draw() -> tuple[list[float], list[float], torch.Tensor, float]:
    return (
        [random.random() for _ in range(5)],
        np.random.rand(5).tolist(),
        torch.rand(5),
        random.gauss(0.0, 1.0),  # leaves a cached gaussian (gauss_next) behind
    )


def _same(
    a: tuple[list[float], list[float], torch.Tensor, float],
    b: tuple[list[float], list[float], torch.Tensor, float],
) -> None:
    assert a[0] == b[0] and a[1] == b[1] and torch.equal(a[2], b[2]) and a[3] == b[3]


def test_restore_repeats_every_generator_through_a_weights_only_file(tmp_path: Path) -> None:
    random.seed(1)
    np.random.seed(2)
    torch.manual_seed(3)
    _draw()
    random.gauss(0.0, 1.0)  # python's gauss keeps a second value cached: it must be restored too
    np.random.standard_normal()  # numpy caches a gaussian as well (has_gauss)
    state = capture_rng_state()
    expected = _draw()
    np_gauss = np.random.standard_normal()
    save_checkpoint_file({"rng": [state]}, tmp_path / "rng.pth")
    random.seed(99)
    np.random.seed(99)
    torch.manual_seed(99)
    loaded = load_checkpoint_file(tmp_path / "rng.pth")["rng"]
    assert isinstance(loaded, list)
    assert restore_rng_state(loaded[0]) == []
    _same(expected, _draw())
    assert np.random.standard_normal() == np_gauss


def test_capture_consumes_nothing() -> None:
    torch.manual_seed(0)
    random.seed(0)
    np.random.seed(0)
    capture_rng_state()
    a = _draw()
    torch.manual_seed(0)
    random.seed(0)
    np.random.seed(0)
    _same(a, _draw())


def test_dropout_continues_identically() -> None:
    drop = torch.nn.Dropout(0.5)
    x = torch.ones(1000)
    torch.manual_seed(5)
    drop(x)
    state = capture_rng_state()
    expected = drop(x)
    torch.manual_seed(123)
    restore_rng_state(state)
    assert torch.equal(drop(x), expected)


def test_cuda_states_are_skipped_with_a_note_when_cuda_is_absent() -> None:
    state = capture_rng_state()
    state["cuda"] = [torch.zeros(16, dtype=torch.uint8)]
    notes = restore_rng_state(state)
    if torch.cuda.is_available():
        assert notes == []
    else:
        assert notes == ["1 CUDA generator state(s) not restored: CUDA is not available"]


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_generator_round_trip() -> None:
    torch.cuda.manual_seed_all(4)
    torch.rand(3, device="cuda")
    state = capture_rng_state()
    assert len(state["cuda"]) == torch.cuda.device_count()  # type: ignore[arg-type]
    expected = torch.rand(3, device="cuda")
    torch.cuda.manual_seed_all(7)
    restore_rng_state(state)
    assert torch.equal(torch.rand(3, device="cuda"), expected)


def test_malformed_state_is_rejected() -> None:
    state = capture_rng_state()
    state["python"] = {"version": 3, "state": [1, 2], "gauss_next": None}
    with pytest.raises(TypeError, match="python.state"):
        restore_rng_state(state)
