"""Start and stop the ``torch.distributed`` process group for a run.

:func:`init_distributed` resolves the launcher (``auto`` detects it), reads the launcher's variables
(:class:`typedengine.distributed.env.DistEnv`), picks the device from the local rank (``cuda:<local_rank>`` when
CUDA is available, else CPU), joins the group with the configured backend and timeout, and returns a
:class:`DistInfo`. :func:`destroy_distributed` leaves it again; :func:`distributed` does both around a
block, also when the block raises.

Example::

    with distributed("auto", DistConfig(timeout_s=600)) as info:
        model = model.to(info.device)
        ...

With ``launcher="none"`` no group is created and every :mod:`typedengine.distributed.ops` call is an identity.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from typedengine.config.base import Config
from typedengine.distributed.env import (
    DistEnv,
    Launcher,
    LaunchError,
    ResolvedLauncher,
    detect_launcher,
    launch_note,
    launch_problem,
)
from typedengine.errors import UsageError

if TYPE_CHECKING:
    import torch

__all__ = [
    "DeviceChoice",
    "DistConfig",
    "DistInfo",
    "destroy_distributed",
    "distributed",
    "init_distributed",
    "leave_distributed",
]


class DistConfig(Config):
    """How the ranks talk to each other: the collective backend and how long a collective may wait.

    Example::

        DistConfig(backend="gloo", timeout_s=120)
    """

    backend: Literal["auto", "nccl", "gloo"] = Field(
        "auto", description="Collective backend; auto = nccl when CUDA is available, else gloo."
    )
    timeout_s: float = Field(
        600.0,
        gt=0,
        description=(
            "Seconds a collective may wait for the other ranks before this rank fails (torch's NCCL default, "
            "10 minutes). A rank that dies is noticed at once and a frozen one by the heartbeat; this "
            "timeout "
            "is what stops the others when a rank is alive but never reaches the collective (stuck in "
            "Python)."
        ),
    )
    heartbeat_timeout_s: float = Field(
        30.0,
        ge=0,
        description=(
            "A rank whose heartbeat stops for this long (frozen, its node lost) makes every rank stop with "
            "PeerFailureError, exit code 1; 0 turns the heartbeat off."
        ),
    )
    heartbeat_interval_s: float = Field(1.0, gt=0, description="Seconds between two heartbeats of a rank.")

    @model_validator(mode="after")
    def _check_heartbeat(self) -> DistConfig:
        if self.heartbeat_timeout_s and self.heartbeat_timeout_s <= self.heartbeat_interval_s:
            raise ValueError(
                f"heartbeat_timeout_s ({self.heartbeat_timeout_s:g}) must be larger than "
                "heartbeat_interval_s "
                f"({self.heartbeat_interval_s:g}), or 0 to turn the heartbeat off"
            )
        return self


@dataclass(frozen=True)
class DistInfo:
    """Where this process runs: its ranks, the device it owns and how it was launched."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device
    launcher: ResolvedLauncher = "none"
    backend: str | None = None
    note: str | None = None
    """A remark about the launch worth logging (a SLURM job with more tasks than were started)."""

    @property
    def is_main(self) -> bool:
        """True on global rank 0."""
        return self.rank == 0


def _device_for(local_rank: int, choice: DeviceChoice) -> torch.device:
    import torch

    use_cuda = torch.cuda.is_available() if choice == "auto" else choice == "cuda"
    if not use_cuda:
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise UsageError(
            "env.device: cuda was requested but torch sees no CUDA device (torch.cuda.is_available() is "
            "False); use --env.device auto (CUDA when there is one) or --env.device cpu"
        )
    count = torch.cuda.device_count()
    if local_rank >= count:
        raise UsageError(
            f"local rank {local_rank} has no GPU: this node has {count} CUDA device(s); "
            "start at most one process per GPU (torchrun --nproc-per-node <= the GPU count)"
        )
    return torch.device("cuda", local_rank)


def _resolve_backend(backend: Literal["auto", "nccl", "gloo"], device: torch.device) -> str:
    if backend == "auto":
        return "nccl" if device.type == "cuda" else "gloo"
    if backend == "nccl" and device.type != "cuda":
        raise RuntimeError(f"dist.backend: nccl needs CUDA, but this rank runs on {device.type}; use gloo")
    return backend


DeviceChoice = Literal["auto", "cuda", "cpu"]
"""A rank's device: ``auto`` = ``cuda:<local rank>`` when CUDA is available, else ``cpu``."""


def init_distributed(
    launcher: Launcher,
    cfg: DistConfig | None = None,
    env: Mapping[str, str] | None = None,
    *,
    device: DeviceChoice = "auto",
) -> DistInfo:
    """Join the process group described by the launcher's environment and return this rank's place.

    ``env`` defaults to ``os.environ``. ``device`` picks the rank's device (``auto``: ``cuda:<local rank>``
    when CUDA is available, else CPU); the backend ``auto`` follows it (nccl on CUDA, gloo on CPU). The rendezvous variables (RANK, WORLD_SIZE, LOCAL_RANK,
    MASTER_ADDR, MASTER_PORT) are exported to ``os.environ`` so that child processes and
    :func:`.ops.get_local_rank` see them under SLURM too. If a group already exists (the
    caller initialised it), it is reused and its ranks are reported.
    """
    import torch
    import torch.distributed as dist

    cfg = cfg or DistConfig()
    env = os.environ if env is None else env
    resolved: ResolvedLauncher = detect_launcher(env) if launcher == "auto" else launcher

    if dist.is_available() and dist.is_initialized():
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        existing = _device_for(local_rank, "cuda" if dist.get_backend() == "nccl" else device)
        return DistInfo(
            dist.get_rank(), dist.get_world_size(), local_rank, existing, resolved, str(dist.get_backend())
        )

    problem = launch_problem(launcher, env)
    if problem is not None:
        raise LaunchError(f"launcher: {problem}")
    if resolved == "none":
        single = _device_for(0, device)
        if single.type == "cuda":
            torch.cuda.set_device(single)
        return DistInfo(0, 1, 0, single, "none", None, launch_note(env))

    if not dist.is_available():
        raise RuntimeError(f"launcher '{resolved}' needs torch.distributed, which this torch build lacks")
    where = DistEnv.from_mapping(env).placement(resolved)
    rank_device = _device_for(where.local_rank, device)
    backend = _resolve_backend(cfg.backend, rank_device)
    if rank_device.type == "cuda":
        torch.cuda.set_device(rank_device)
    os.environ.update(
        {
            "RANK": str(where.rank),
            "WORLD_SIZE": str(where.world_size),
            "LOCAL_RANK": str(where.local_rank),
            "MASTER_ADDR": where.master_addr,
            "MASTER_PORT": str(where.master_port),
        }
    )
    try:
        dist.init_process_group(
            backend=backend,
            init_method="env://",
            rank=where.rank,
            world_size=where.world_size,
            timeout=timedelta(seconds=cfg.timeout_s),
            device_id=rank_device if backend == "nccl" else None,
        )
    except Exception as exc:
        destroy_distributed()
        raise RuntimeError(
            f"rank {where.rank}/{where.world_size} could not join the process group at "
            f"{where.master_addr}:{where.master_port} (backend {backend}, timeout {cfg.timeout_s:g} s): {exc}"
        ) from exc
    note = None
    if where.world_size > 1 and cfg.heartbeat_timeout_s > 0:
        from typedengine.distributed.heartbeat import Heartbeat

        beat = Heartbeat(
            where.master_addr,
            where.master_port,
            rank=where.rank,
            world_size=where.world_size,
            interval_s=cfg.heartbeat_interval_s,
            timeout_s=cfg.heartbeat_timeout_s,
        )
        try:
            beat.start()
        except Exception as exc:  # noqa: BLE001  # training works without it; the run logs the note
            note = (
                f"the heartbeat could not connect to the rendezvous store at {where.master_addr}:"
                f"{where.master_port} ({exc}); a frozen peer will be noticed only after dist.timeout_s"
            )
    return DistInfo(where.rank, where.world_size, where.local_rank, rank_device, resolved, backend, note)


def _stop_heartbeat(error: BaseException | None) -> None:
    from typedengine.distributed.heartbeat import active_heartbeat

    beat = active_heartbeat()
    if beat is not None:
        beat.stop(error=error)


def destroy_distributed(error: BaseException | None = None) -> None:
    """Leave and destroy the default process group, if there is one (safe to call twice).

    ``error``: why this rank stops early; the heartbeat tells the peers (they stop instead of waiting).
    """
    import torch.distributed as dist

    _stop_heartbeat(error)
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


_ARRIVED_KEY = "typedengine/leave/arrived"
_LEFT_KEY = "typedengine/leave/left"


def _wait_for(store: object, key: str, target: int, deadline: float) -> bool:
    """Poll the store counter ``key`` until it reaches ``target`` or ``deadline``; True if reached."""
    import time

    add = store.add  # type: ignore[attr-defined]  # torch.distributed.Store
    while add(key, 0) < target:
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.002)
    return True


def leave_distributed(timeout_s: float = 60.0) -> None:
    """Destroy the default process group at the clean end of a run, rank 0 last.

    A rank that closes its connections right after the last collective can cut off a message its peer
    is still reading (gloo then fails the peer's collective or aborts its process, and the launcher
    reports a finished run as failed). So the ranks first wait for each other through the rendezvous
    store (not a collective: it cannot pair with a collective another rank is still in), then the other
    ranks destroy their group and say so, and rank 0 (which may host the store) destroys its group last.
    Each wait gives up after ``timeout_s`` and the rank leaves anyway. The counters only grow, so a
    process that creates a process group again (a store that outlives it, e.g. torchrun's) still works.
    Without a process group this does nothing.
    """
    import time

    import torch.distributed as dist
    from torch.distributed import distributed_c10d

    _stop_heartbeat(None)  # this rank is done: its peers must not take its silence for a failure
    if not (dist.is_available() and dist.is_initialized()):
        return
    rank, world = dist.get_rank(), dist.get_world_size()
    if world == 1:
        dist.destroy_process_group()
        return
    store = distributed_c10d._get_default_store()
    deadline = time.monotonic() + timeout_s
    try:
        generation = (store.add(_ARRIVED_KEY, 1) - 1) // world  # how many groups left before this one
        _wait_for(store, _ARRIVED_KEY, (generation + 1) * world, deadline)
        if rank != 0:
            dist.destroy_process_group()
            store.add(_LEFT_KEY, 1)
            return
        _wait_for(store, _LEFT_KEY, (generation + 1) * (world - 1), deadline)
    except Exception:  # noqa: BLE001  # the store is gone (rank 0 left after a timeout): leave anyway
        pass
    if dist.is_initialized():
        dist.destroy_process_group()


@contextmanager
def distributed(
    launcher: Launcher,
    cfg: DistConfig | None = None,
    env: Mapping[str, str] | None = None,
    *,
    device: DeviceChoice = "auto",
) -> Iterator[DistInfo]:
    """:func:`init_distributed` on entry, :func:`destroy_distributed` on exit, also when the block raises."""
    info = init_distributed(launcher, cfg, env, device=device)
    try:
        yield info
    except BaseException as exc:
        destroy_distributed(exc)
        raise
    finally:
        destroy_distributed()
