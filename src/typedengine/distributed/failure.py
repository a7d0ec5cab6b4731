"""Turn a collective that failed because of another rank into an error that says so.

When a rank dies, the survivors' next collective fails fast (gloo: "Connection reset by peer"); when a
rank hangs, the survivors' collective fails after ``dist.timeout_s``. torch reports both as low-level
backend messages. :func:`collective_failures` re-raises them as :class:`PeerFailureError` naming this
rank, the operation and the likely cause, with the backend's message kept as the cause.

Example::

    with collective_failures("gradient all-reduce"):
        loss.backward()
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ..errors import Fault

__all__ = ["PeerFailureError", "collective_failures", "is_collective_failure"]

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

        where = f"rank {dist.get_rank()} of {dist.get_world_size()}" if dist.is_initialized() else "this rank"
        raise PeerFailureError(
            f"{operation} failed on {where}: another rank exited, crashed or did not reach the same "
            f"collective within dist.timeout_s; check the other ranks' output for the first error. "
            f"Backend message: {str(exc).strip()}"
        ) from exc
