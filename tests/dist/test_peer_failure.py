"""A rank that dies or hangs makes the survivor fail with a clear error within the timeout, not hang."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from tests.dist.dist_harness import run_ranks_raw
from typedengine.dist import all_reduce, get_rank
from typedengine.model.wrapping import DDPConfig

PG_TIMEOUT_S = 4.0


def _step(model: nn.Module, opt: torch.optim.Optimizer) -> None:
    x = torch.randn(8, 4)
    loss = F.mse_loss(model(x), torch.zeros(8, 2))
    opt.zero_grad()
    loss.backward()
    opt.step()


def _train_until_peer_fails(failure: str) -> dict[str, Any]:
    rank = get_rank()
    model = DDPConfig().build(nn.Linear(4, 2), torch.device("cpu"))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    _step(model, opt)  # one healthy step together
    if rank == 1:
        if failure == "killed":
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(PG_TIMEOUT_S * 3)  # "hung": alive but never joins the next collective
        os._exit(0)
    start = time.monotonic()
    try:
        for _ in range(1000):
            _step(model, opt)
            all_reduce(torch.ones(1))
    except Exception as exc:  # noqa: BLE001 - the error is the result under test
        return {"error": f"{type(exc).__name__}: {exc}", "elapsed_s": time.monotonic() - start}
    return {"error": None, "elapsed_s": time.monotonic() - start}


def _check(failure: str) -> None:
    started = time.monotonic()
    survivor, peer = run_ranks_raw(_train_until_peer_fails, 2, failure, pg_timeout_s=PG_TIMEOUT_S, wall_timeout_s=60)
    print(survivor, peer, time.monotonic() - started)
    assert survivor.error is None and survivor.reported, survivor.error
    result = survivor.value
    assert result["error"] is not None, "the survivor kept training without its peer"
    assert result["elapsed_s"] < PG_TIMEOUT_S + 3.0
    assert survivor.exitcode == 0  # it returned (and tore down) instead of hanging
    if failure == "killed":
        assert peer.exitcode == -signal.SIGKILL
    return result


def test_killed_peer_fails_the_survivor_quickly() -> None:
    result = _check("killed")
    print(result)


def test_hung_peer_fails_the_survivor_after_the_timeout() -> None:
    result = _check("hung")
    print(result)
