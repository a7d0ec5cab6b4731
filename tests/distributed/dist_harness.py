"""Run a function in N real processes joined by a gloo process group on 127.0.0.1 (for tests).

``run_ranks(fn, 2, arg)`` spawns two processes, each with torchrun-style variables (RANK, WORLD_SIZE,
LOCAL_RANK, MASTER_ADDR, MASTER_PORT on a free port), initialises the group through
:func:`typedengine.distributed.process_group.init_distributed` and returns
``[fn(arg) on rank 0, fn(arg) on rank 1]``.
``fn`` must be a module-level function (it is pickled by reference). ``backend="nccl"`` puts rank ``r``
on ``cuda:r`` instead of the CPU.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import queue as queue_mod
import socket
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_PRELOAD = ["torch", "torch.distributed", "typedengine.distributed", "typedengine.model.wrapping", "typedengine.model.ddp"]


def _context() -> Any:
    """A forkserver context whose server has torch imported once: ranks start in milliseconds.

    The server is a fresh single-threaded process (no OpenMP pools, no process group), so forking it is
    as safe as spawning, without paying the torch import for every rank of every test.
    """
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(_PRELOAD)
    return ctx


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Outcome:
    rank: int
    exitcode: int | None
    value: Any = None
    error: str | None = None
    reported: bool = False


def _entry(
    fn: Callable[..., Any],
    rank: int,
    world_size: int,
    port: int,
    args: tuple[Any, ...],
    extra_env: dict[str, str],
    init: bool,
    timeout_s: float,
    backend: str,
    results: Any,
) -> None:
    os.environ.update(
        {
            "RANK": str(rank),
            "LOCAL_RANK": str(rank),
            "WORLD_SIZE": str(world_size),
            "LOCAL_WORLD_SIZE": str(world_size),
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(port),
            "OMP_NUM_THREADS": "1",
        }
    )
    os.environ.update(extra_env)
    import torch

    torch.set_num_threads(1)
    try:
        if init:
            from typedengine.distributed.process_group import DistConfig, init_distributed

            device = "cuda" if backend == "nccl" else "cpu"
            cfg = DistConfig(backend=backend, timeout_s=timeout_s)  # type: ignore[arg-type]
            init_distributed("pytorch", cfg, device=device)  # type: ignore[arg-type]
        value = fn(*args)
        # plain pickle: torch's queue reduction would pass tensors as shared memory of an exiting process
        results.put((rank, pickle.dumps(value), None))
    except BaseException:  # noqa: BLE001 - reported to the parent test
        results.put((rank, None, traceback.format_exc()))
    finally:
        if init:
            from typedengine.distributed.process_group import destroy_distributed

            destroy_distributed()


def _record(outcomes: list[Outcome], message: tuple[int, bytes | None, str | None]) -> None:
    rank, payload, error = message
    outcomes[rank].value = pickle.loads(payload) if payload is not None else None
    outcomes[rank].error = error
    outcomes[rank].reported = True


def run_ranks_raw(
    fn: Callable[..., Any],
    world_size: int,
    *args: Any,
    env: dict[str, str] | None = None,
    init: bool = True,
    pg_timeout_s: float = 30.0,
    wall_timeout_s: float = 90.0,
    backend: str = "gloo",
) -> list[Outcome]:
    """Start the ranks, wait for all of them, and return each rank's outcome (never raises for a rank)."""
    ctx = _context()
    results = ctx.Queue()
    port = free_port()
    procs = [
        ctx.Process(
            target=_entry,
            args=(fn, rank, world_size, port, args, env or {}, init, pg_timeout_s, backend, results),
            daemon=True,
        )
        for rank in range(world_size)
    ]
    for p in procs:
        p.start()
    outcomes = [Outcome(rank=r, exitcode=None) for r in range(world_size)]
    deadline = time.monotonic() + wall_timeout_s
    try:
        while time.monotonic() < deadline:
            try:
                _record(outcomes, results.get(timeout=0.2))
            except queue_mod.Empty:
                if all(p.exitcode is not None for p in procs):
                    break
        else:
            raise TimeoutError(f"ranks still running after {wall_timeout_s} s")
        # drain anything left after the last process exited
        while True:
            try:
                _record(outcomes, results.get(timeout=0.5))
            except queue_mod.Empty:
                break
        for p in procs:
            p.join(timeout=10)
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
                p.join(timeout=5)
    for o, p in zip(outcomes, procs):
        o.exitcode = p.exitcode
    return outcomes


def run_ranks(fn: Callable[..., Any], world_size: int, *args: Any, **kwargs: Any) -> list[Any]:
    """Every rank's return value in rank order; raises with the rank's traceback if any rank failed."""
    outcomes = run_ranks_raw(fn, world_size, *args, **kwargs)
    for o in outcomes:
        if o.error is not None:
            raise AssertionError(f"rank {o.rank} failed:\n{o.error}")
        if not o.reported:
            raise AssertionError(f"rank {o.rank} exited with code {o.exitcode} without reporting")
    return [o.value for o in outcomes]
