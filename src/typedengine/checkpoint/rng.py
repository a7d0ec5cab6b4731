"""Capture and restore the process's random number generators as checkpoint-safe data.

Covers Python's ``random``, NumPy's legacy global generator (``np.random.*``), torch's CPU generator and,
where CUDA is already initialised, every CUDA device's generator. The state is plain data (tensors, ints,
floats, strings, None) so it survives ``torch.load(weights_only=True)``; restoring it makes dropout,
``torch.rand``/``random.random``/``np.random`` draws continue exactly where the saved run stopped.

Capturing never initialises CUDA (a CPU-only or not-yet-started process records no CUDA state); restoring a
state with CUDA generators on a machine with fewer devices restores the ones present and says so in the
returned notes.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

__all__ = ["RNGState", "capture_rng_state", "restore_rng_state"]

RNGState = dict[str, object]
"""What :func:`capture_rng_state` returns: ``{"python": ..., "numpy": ..., "torch": ..., "cuda": [...]}``."""


def capture_rng_state() -> RNGState:
    """Return the state of every global generator as weights_only-safe data (nothing is consumed)."""
    import numpy as np
    import torch

    version, internal, gauss_next = random.getstate()
    np_state = np.random.get_state(legacy=False)
    assert isinstance(np_state, dict)  # legacy=False always returns the dict form
    inner = np_state["state"]
    state: RNGState = {
        "python": {
            "version": int(version),
            "state": torch.tensor(internal, dtype=torch.int64),
            "gauss_next": None if gauss_next is None else float(gauss_next),
        },
        "numpy": {
            "bit_generator": str(np_state["bit_generator"]),
            "key": torch.from_numpy(np.asarray(inner["key"], dtype=np.int64).copy()),
            "pos": int(inner["pos"]),
            "has_gauss": int(np_state["has_gauss"]),
            "gauss": float(np_state["gauss"]),
        },
        "torch": torch.get_rng_state(),
        "cuda": [],
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():  # type: ignore[no-untyped-call]  # untyped in torch
        state["cuda"] = [s.cpu() for s in torch.cuda.get_rng_state_all()]
    return state


def restore_rng_state(state: Mapping[str, object]) -> list[str]:
    """Restore generators from :func:`capture_rng_state` output; return notes about anything skipped.

    Raises :class:`TypeError` for a malformed state (a checkpoint that was edited by hand).
    """
    import numpy as np
    import torch

    notes: list[str] = []
    py = state.get("python")
    if isinstance(py, Mapping):
        internal = py["state"]
        if not isinstance(internal, torch.Tensor):
            raise TypeError("rng state 'python.state' must be a tensor")
        gauss = py.get("gauss_next")
        random.setstate((int(_int(py["version"])), tuple(int(x) for x in internal.tolist()), gauss))
    elif py is not None:
        raise TypeError("rng state 'python' must be a dict")

    npd = state.get("numpy")
    if isinstance(npd, Mapping):
        key = npd["key"]
        if not isinstance(key, torch.Tensor):
            raise TypeError("rng state 'numpy.key' must be a tensor")
        np.random.set_state(
            {
                "bit_generator": str(npd["bit_generator"]),
                "state": {"key": key.numpy().astype(np.uint32), "pos": _int(npd["pos"])},
                "has_gauss": _int(npd["has_gauss"]),
                "gauss": float(_float(npd["gauss"])),
            }
        )

    cpu = state.get("torch")
    if isinstance(cpu, torch.Tensor):
        torch.set_rng_state(cpu.to(dtype=torch.uint8, device="cpu"))

    cuda = state.get("cuda")
    if isinstance(cuda, (list, tuple)) and cuda:
        if not torch.cuda.is_available():
            notes.append(f"{len(cuda)} CUDA generator state(s) not restored: CUDA is not available")
        else:
            count = torch.cuda.device_count()
            for index, device_state in enumerate(cuda[:count]):
                if isinstance(device_state, torch.Tensor):
                    torch.cuda.set_rng_state(device_state.to(dtype=torch.uint8, device="cpu"), index)
            if len(cuda) > count:
                notes.append(
                    f"{len(cuda) - count} CUDA generator state(s) not restored: only {count} device(s)"
                )
    return notes


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"rng state value {value!r} must be an int")
    return value


def _float(value: object) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise TypeError(f"rng state value {value!r} must be a number")
    return float(value)
