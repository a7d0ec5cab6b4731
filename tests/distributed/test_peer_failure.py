"""A rank that dies or hangs makes the survivor fail with a clear error within the timeout, not hang."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from tests.distributed.dist_harness import free_port, run_ranks_raw
from typedengine.distributed.failure import PeerFailureError, collective_failures, is_collective_failure
from typedengine.distributed.ops import all_reduce, get_rank
from typedengine.model.base import BaseModel
from typedengine.model.wrapping import DDPConfig
from typedengine.optim.wrapper import OptimWrapper

PG_TIMEOUT_S = 4.0


class _Tiny(BaseModel):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor, mode: str = "tensor") -> object:
        out = self.fc(x)
        return {"loss": F.mse_loss(out, torch.zeros_like(out))} if mode == "loss" else out


def _train_until_peer_fails(failure: str) -> dict[str, Any]:
    rank = get_rank()
    model = DDPConfig().build(_Tiny(), torch.device("cpu"))
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    batch = {"x": torch.randn(8, 4)}
    model.train_step(batch, wrapper)  # type: ignore[operator]  # one healthy step together
    if rank == 1:
        if failure == "killed":
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(PG_TIMEOUT_S + 3)  # "hung": alive, but never joins the next collective
        os._exit(0)
    start = time.monotonic()
    try:
        for _ in range(1000):
            model.train_step(batch, wrapper)  # type: ignore[operator]
            all_reduce(torch.ones(1))
    except Exception as exc:  # noqa: BLE001 - the error is the result under test
        return {"type": type(exc).__name__, "message": str(exc), "elapsed_s": time.monotonic() - start}
    return {"type": None, "elapsed_s": time.monotonic() - start}


@pytest.mark.parametrize("failure", ["killed", "hung"])
def test_failed_peer_makes_the_survivor_raise_a_clear_error(failure: str) -> None:
    survivor, peer = run_ranks_raw(
        _train_until_peer_fails, 2, failure, pg_timeout_s=PG_TIMEOUT_S, wall_timeout_s=60
    )
    assert survivor.reported and survivor.error is None, survivor.error
    result = survivor.value
    assert result["type"] == "PeerFailureError", result
    assert "failed on rank 0 of 2" in result["message"]
    assert "another rank exited, crashed or did not reach the same collective" in result["message"]
    # a dead peer is noticed at once; a hung one after the configured timeout, and not much later
    if failure == "killed":
        assert result["elapsed_s"] < PG_TIMEOUT_S
        assert peer.exitcode == -signal.SIGKILL
        assert "rank 1 is not responding (no heartbeat: exited or frozen)" in result["message"]  # named
    else:
        assert PG_TIMEOUT_S - 0.5 <= result["elapsed_s"] < PG_TIMEOUT_S + 3.0
    assert survivor.exitcode == 0  # it returned and tore the group down instead of hanging


def test_user_errors_pass_through_unchanged() -> None:
    with pytest.raises(ValueError, match="mine"), collective_failures("x"):
        raise ValueError("mine")
    with pytest.raises(RuntimeError, match="shape mismatch"), collective_failures("x"):
        raise RuntimeError("shape mismatch")
    assert is_collective_failure(RuntimeError("[gloo/transport/tcp/pair.cc:545] Connection reset by peer"))
    with (
        pytest.raises(PeerFailureError, match="all_reduce failed on this rank") as info,
        collective_failures("all_reduce"),
    ):
        raise RuntimeError("[third_party/gloo/x.cc:1] Timed out waiting 4000ms")
    assert "Timed out waiting 4000ms" in str(info.value)
    assert isinstance(info.value.__cause__, RuntimeError)


ROOT = Path(__file__).resolve().parents[2]


def _pair(mode: str, out: Path) -> tuple[subprocess.Popen[str], subprocess.Popen[str]]:
    port = free_port()
    procs = []
    for rank in (0, 1):
        env = {
            **os.environ,
            "RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": "2",
            "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT),
        }  # fmt: skip
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "tests.distributed.heartbeat_probe", mode, str(out)],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    return procs[0], procs[1]


@pytest.mark.slow
@pytest.mark.parametrize(("mode", "named"), [("frozen", "rank 1 stopped responding: no heartbeat for"),
                                              ("failed", "rank 1 stopped with an error (ValueError: boom in rank 1)")])  # fmt: skip
def test_a_frozen_or_failed_peer_stops_the_survivor_in_seconds(tmp_path: Path, mode: str, named: str) -> None:
    """Its connections stay open, so no collective fails: without the heartbeat rank 0 would wait for the
    collective timeout (120 s here, 10 minutes by default)."""
    survivor, peer = _pair(mode, tmp_path)
    try:
        _, err = survivor.communicate(timeout=90)
        ended = time.time()
    finally:
        peer.kill()
        peer.communicate()
    assert survivor.returncode == 1, err
    assert f"error: PeerFailureError: {named}" in err and "rank 0 of 2 stops too" in err
    since = ended - float((tmp_path / f"{mode}_at").read_text())
    # detection: 3 s without a heartbeat (frozen) or the next beat (failed), then a 3 s grace for the main thread
    assert since < (10 if mode == "frozen" else 7), since
