"""Shared test helpers: a tiny MLP model, synthetic data, and a hook that records calls."""

from __future__ import annotations

import multiprocessing.process
import os
import subprocess
from collections.abc import Iterator, Mapping

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import TensorDataset

import typedengine as te

os.environ.setdefault("OMP_NUM_THREADS", "1")
torch.set_num_threads(1)

FAST_LANE = os.environ.get("TE_TEST_FAST") == "1"
"""``make test-fast``: tests that start a process (a subprocess, torchrun, a multiprocessing rank) skip
themselves at the moment they try, so the lane needs no hand-kept list of slow tests."""


@pytest.fixture(autouse=True)
def _fast_lane_starts_no_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    if FAST_LANE:

        def refuse(*args: object, **kwargs: object) -> None:
            pytest.skip("starts a process: runs in `make test`, not in the fast lane")

        monkeypatch.setattr(subprocess.Popen, "__init__", refuse)
        monkeypatch.setattr(multiprocessing.process.BaseProcess, "start", refuse)
    yield


class TinyMLP(te.BaseModel):
    """64 -> 32 -> 10 MLP with the BaseModel contract (loss / predict / tensor)."""

    def __init__(self, dims: tuple[int, ...] = (16, 32, 4), dropout: float = 0.0) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for i in range(len(dims) - 1):
            layers.append(nn.Linear(dims[i], dims[i + 1]))
            if i < len(dims) - 2:
                layers.append(nn.ReLU())
                if dropout:
                    layers.append(nn.Dropout(dropout))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, y: torch.Tensor, mode: str = "tensor") -> object:  # type: ignore[override]
        logits = self.net(x)
        if mode == "loss":
            return {"loss": F.cross_entropy(logits, y)}
        if mode == "predict":
            return logits, y
        return logits


def make_data(n: int = 64, dim: int = 16, classes: int = 4, seed: int = 1) -> TensorDataset:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, dim, generator=g)
    teacher = torch.randn(dim, classes, generator=g)
    y = (x @ teacher).argmax(1)
    return TensorDataset(x, y)


class RecordingHook(te.Hook):
    """Records (point, epoch, iter) for every hook point."""

    priority = "lowest"

    def __init__(self) -> None:
        self.calls: list[tuple[str, int, int]] = []

    def _rec(self, runner: te.Runner, name: str) -> None:
        self.calls.append((name, runner.state.epoch, runner.state.iter))


def _make_method(point: str):  # type: ignore[no-untyped-def]
    def method(self: RecordingHook, runner: te.Runner, *args: object, **kwargs: object) -> None:
        self._rec(runner, point)

    return method


from typedengine.hooks.hook import HOOK_POINTS

for _p in HOOK_POINTS:
    setattr(RecordingHook, _p, _make_method(_p))


@pytest.fixture
def tiny_data() -> TensorDataset:
    return make_data()


def state_equal(a: Mapping[str, torch.Tensor], b: Mapping[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture(autouse=True)
def _cli_reporting_off_after_each_test() -> object:
    """te.cli() turns on command-line error reporting and its start-up signal exit for the process; one
    test's cli() must not leak them."""
    import signal

    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGUSR1)}
    yield
    from typedengine.errors import enable_cli_reporting

    enable_cli_reporting(False)
    for sig, handler in saved.items():
        signal.signal(sig, handler)
