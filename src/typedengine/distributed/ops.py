"""Collective operations that are identities in a single process.

Every function here works with or without an initialised ``torch.distributed`` process group. Without one
(a plain ``python train.py``) the world has one rank: ``get_rank()`` is 0, ``all_reduce`` returns its input,
``all_gather`` returns ``[tensor]``, and so on, so single-process code needs no branches.

Example::

    loss_sum = all_reduce(loss_sum.detach().clone(), op="mean")   # the same value on every rank
    if is_main_process():
        print(loss_sum)

torch is imported lazily so that importing :mod:`typedengine.distributed` stays cheap for ``--help``.
"""

from __future__ import annotations

import os
import secrets
from typing import TYPE_CHECKING, Literal, TypeVar

from typedengine.distributed.failure import collective_failures

if TYPE_CHECKING:
    import torch

__all__ = [
    "ReduceOpName",
    "agree_any",
    "all_gather",
    "all_gather_objects",
    "all_reduce",
    "barrier",
    "broadcast_object",
    "gather_objects",
    "get_local_rank",
    "get_rank",
    "get_world_size",
    "is_distributed",
    "is_main_process",
    "sync_random_seed",
]

T = TypeVar("T")

ReduceOpName = Literal["sum", "mean", "max", "min"]
"""The reductions :func:`all_reduce` supports (``mean`` is a sum divided by the world size)."""


def is_distributed() -> bool:
    """Whether a ``torch.distributed`` process group is initialised in this process."""
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized()


def get_rank() -> int:
    """The global rank of this process (0 without a process group)."""
    if not is_distributed():
        return 0
    import torch.distributed as dist

    return dist.get_rank()


def get_world_size() -> int:
    """The number of processes in the default group (1 without a process group)."""
    if not is_distributed():
        return 1
    import torch.distributed as dist

    return dist.get_world_size()


def get_local_rank() -> int:
    """The rank of this process on its node (0 without a process group).

    Read from ``LOCAL_RANK``, which torchrun sets and :func:`.process_group.init_distributed` exports for
    SLURM launches.
    """
    if not is_distributed():
        return 0
    return int(os.environ.get("LOCAL_RANK", "0"))


def is_main_process() -> bool:
    """True on global rank 0 (and always in a single process)."""
    return get_rank() == 0


def barrier() -> None:
    """Wait until every rank reaches this call (no-op without a process group)."""
    if get_world_size() == 1:
        return
    import torch.distributed as dist

    with collective_failures("barrier"):
        dist.barrier()


def agree_any(flag: bool) -> bool:
    """True on every rank when ``flag`` is true on any rank (one small all-reduce; no-op in one process).

    Use it where a step can fail on one rank only (rank 0 writing a file) and the others must not go on
    to wait for it in a later collective.
    """
    if get_world_size() == 1:
        return flag
    import torch

    return bool(all_reduce(torch.tensor([int(flag)], dtype=torch.int32), op="max").item())


def _comm_device() -> torch.device:
    """The device collectives of the current backend need their tensors on."""
    import torch
    import torch.distributed as dist

    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def all_reduce(tensor: torch.Tensor, op: ReduceOpName = "sum") -> torch.Tensor:
    """Reduce ``tensor`` over all ranks **in place** and return it.

    ``op="mean"`` needs a floating-point (or complex) tensor: it sums then divides by the world size
    (gloo has no native average). A tensor on a device the backend cannot use (a CPU tensor under NCCL) is
    copied to the communication device and the result copied back.
    """
    if op == "mean" and not (tensor.is_floating_point() or tensor.is_complex()):
        raise TypeError(f"all_reduce(op='mean') needs a floating-point tensor, got {tensor.dtype}")
    world_size = get_world_size()
    if world_size == 1:
        return tensor
    import torch.distributed as dist

    reduce_op = {
        "sum": dist.ReduceOp.SUM,
        "mean": dist.ReduceOp.SUM,
        "max": dist.ReduceOp.MAX,
        "min": dist.ReduceOp.MIN,
    }[op]
    device = _comm_device()
    work = tensor if tensor.device == device else tensor.to(device)
    with collective_failures(f"all_reduce({op})"):
        dist.all_reduce(work, op=reduce_op)
    if op == "mean":
        work.div_(world_size)
    if work is not tensor:
        tensor.copy_(work)
    return tensor


def all_gather(tensor: torch.Tensor) -> list[torch.Tensor]:
    """Every rank's ``tensor``, in rank order, on the input's device.

    All ranks must pass tensors of the same shape and dtype; use :func:`all_gather_objects` for ragged data.
    """
    world_size = get_world_size()
    if world_size == 1:
        return [tensor]
    import torch
    import torch.distributed as dist

    device = _comm_device()
    work = tensor.to(device).contiguous()
    parts = [torch.empty_like(work) for _ in range(world_size)]
    with collective_failures("all_gather"):
        dist.all_gather(parts, work)
    return [p.to(tensor.device) for p in parts]


def broadcast_object(obj: T, src: int = 0) -> T:
    """Rank ``src``'s ``obj`` on every rank (pickled; ``obj`` is returned unchanged in one process)."""
    if get_world_size() == 1:
        return obj
    import torch.distributed as dist

    box: list[object] = [obj]
    with collective_failures("broadcast_object"):
        dist.broadcast_object_list(box, src=src)
    return box[0]  # type: ignore[return-value]  # the object rank `src` sent has the caller's type T


def gather_objects(obj: T, dst: int = 0) -> list[T] | None:
    """Every rank's ``obj`` in rank order on rank ``dst``; ``None`` on the other ranks."""
    world_size = get_world_size()
    if world_size == 1:
        return [obj]
    import torch.distributed as dist

    rank = get_rank()
    out: list[object] | None = [None] * world_size if rank == dst else None
    with collective_failures("gather_objects"):
        dist.gather_object(obj, out, dst=dst)
    return out  # type: ignore[return-value]  # each rank sent a T, so the filled list holds T


def all_gather_objects(obj: T) -> list[T]:
    """Every rank's ``obj`` in rank order, on every rank (pickled)."""
    world_size = get_world_size()
    if world_size == 1:
        return [obj]
    import torch.distributed as dist

    out: list[object] = [None] * world_size
    with collective_failures("all_gather_objects"):
        dist.all_gather_object(out, obj)
    return out  # type: ignore[return-value]  # each rank sent a T, so the filled list holds T


def sync_random_seed() -> int:
    """A fresh random seed in ``[0, 2**31)``, drawn on rank 0 and shared with every rank."""
    seed = secrets.randbelow(2**31) if is_main_process() else 0
    return broadcast_object(seed, src=0)
