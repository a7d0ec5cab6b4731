"""Turn a collective that failed because of another rank into an error that says so.

When a rank dies, the survivors' next collective fails fast (gloo: "Connection reset by peer"); when a
rank hangs, the survivors' collective fails after ``dist.timeout_s`` (a frozen rank is found sooner by
:mod:`typedengine.distributed.heartbeat`). torch reports both as low-level
backend messages. :func:`collective_failures` re-raises them as :class:`PeerFailureError` naming this
rank, the operation and the likely cause (the failed or silent rank, when the heartbeat knows it), with
the backend's message kept as the cause.

Example::

    with collective_failures("gradient all-reduce"):
        loss.backward()
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ..errors import Fault

__all__ = ["PeerFailureError", "collective_failures", "is_collective_failure", "skip_final_collection"]

_BACKEND_MARKERS = (
    "gloo",
    "NCCL",
    "nccl",
    "ProcessGroup",
    "Connection reset by peer",
    "Connection closed by peer",
)


class PeerFailureError(Fault, RuntimeError):
    """A collective failed: another rank exited, crashed, or did not join it within ``dist.timeout_s``."""


def is_collective_failure(exc: BaseException) -> bool:
    """Whether ``exc`` comes from the communication backend (not from user code)."""
    import torch.distributed as dist

    if isinstance(exc, PeerFailureError):
        return False
    if isinstance(exc, dist.DistError):
        return True
    return isinstance(exc, RuntimeError) and any(marker in str(exc) for marker in _BACKEND_MARKERS)


@contextmanager
def collective_failures(operation: str) -> Iterator[None]:
    """Re-raise backend failures inside the block as :class:`PeerFailureError` (others pass unchanged)."""
    try:
        yield
    except RuntimeError as exc:
        if not is_collective_failure(exc):
            raise
        import torch.distributed as dist

        from .heartbeat import describe_peers

        where = f"rank {dist.get_rank()} of {dist.get_world_size()}" if dist.is_initialized() else "this rank"
        known = describe_peers()
        cause = f"{known}. " if known else ""
        raise PeerFailureError(
            f"{operation} failed on {where}: {cause}another rank exited, crashed or did not reach the same "
            f"collective within dist.timeout_s; check the other ranks' output for the first error. "
            f"Backend message: {str(exc).strip()}"
        ) from exc


_skipping = False


def skip_final_collection() -> None:
    """Make this process's exit skip CPython's final garbage collection (once the run has ended on a peer
    failure).

    The error is reported in well under a second, but then the interpreter's shutdown collects every
    object torch created: 1-2 s on an idle machine and 6-8 s on a loaded one (measured with two gloo
    ranks on 2 busy cores: 7.8 s from the report to the process's end, 0.9 s with this). The peers are
    waiting for this process to end (a launcher tears the job down only then), so at exit the heap is
    frozen (:func:`gc.freeze`) and left to the operating system. Explicitly closed resources (log files,
    checkpoints, the visualizer) are unaffected; only objects that nobody closed and that sit in
    reference cycles miss their finalizers.
    """
    global _skipping
    if _skipping:
        return
    import atexit
    import gc

    _skipping = True
    atexit.register(gc.freeze)  # runs first (atexit is last-in, first-out), before the final collection
