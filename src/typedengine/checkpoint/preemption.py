"""Graceful preemption: a signal asks the run to stop at the next step boundary, save, and exit with code 75.

SIGTERM (sent by SLURM, Kubernetes, ``kill``), SIGUSR1 (SLURM's ``--signal=USR1@<seconds>`` warning) and the
first Ctrl-C (SIGINT) only set a flag. The :class:`~typedengine.hooks.checkpoint.CheckpointHook` reads it
after each training iteration (the optimizer step of that iteration has completed) and after each
validation epoch, writes a checkpoint, and raises :class:`Preempted`, a ``SystemExit`` with code
:data:`PREEMPTED_EXIT_CODE` = 75 (``EX_TEMPFAIL`` from ``sysexits.h``: "temporary failure, retry later").
A job script can requeue on that code::

    python train.py --resume
    if [ $? -eq 75 ]; then scontrol requeue "$SLURM_JOB_ID"; fi

A second Ctrl-C raises ``KeyboardInterrupt`` at once (a checkpoint being written is abandoned cleanly:
the previous one stays valid). A second SIGTERM (or SIGUSR1) is passed to the handler that was installed
before (by default: the process terminates), so a process whose training already ended with an error —
the runner then never removes the handlers — still stops when signalled twice. Installing over a
leftover handler of an earlier run replaces it instead of chaining to it.

In a distributed run ranks may receive the signal at different iterations, so they agree before acting:
every ``check_interval_iters`` iterations (on the same iteration on every rank) the flags are combined
with one ``all_reduce(max)`` of a single integer; a stop happens on every rank at the same iteration. The
single-process check is a plain attribute read (no synchronisation).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any, Final, TypeAlias

__all__ = ["PREEMPTED_EXIT_CODE", "Preempted", "PreemptionHandler"]

_Handler: TypeAlias = "Callable[[int, FrameType | None], Any] | int | signal.Handlers | None"

PREEMPTED_EXIT_CODE: Final = 75
"""Exit status of a run stopped by a signal after saving a checkpoint (``EX_TEMPFAIL``): resume it."""


class Preempted(SystemExit):
    """Raised after the preemption checkpoint is written; exits the interpreter with code 75 if uncaught."""

    def __init__(self, signal_name: str, checkpoint: str) -> None:
        super().__init__(PREEMPTED_EXIT_CODE)
        self.signal_name = signal_name
        self.checkpoint = checkpoint

    def __str__(self) -> str:
        return (
            f"stopped by {self.signal_name} after saving {self.checkpoint} (exit code {PREEMPTED_EXIT_CODE})"
        )


def _default_signals() -> tuple[signal.Signals, ...]:
    names = ("SIGTERM", "SIGUSR1", "SIGINT")
    return tuple(getattr(signal, n) for n in names if hasattr(signal, n))


class PreemptionHandler:
    """Installs signal handlers that record a stop request; :meth:`should_stop` reports it.

    Example::

        handler = PreemptionHandler()
        handler.install()
        try:
            for step in range(n):
                train_step()
                if handler.should_stop(step, world_size=1):
                    save(); raise Preempted(handler.signal_name, "ckpt.pth")
        finally:
            handler.uninstall()
    """

    def __init__(
        self, signals: Sequence[signal.Signals] | None = None, *, check_interval_iters: int = 10
    ) -> None:
        if check_interval_iters < 1:
            raise ValueError(f"check_interval_iters must be >= 1, got {check_interval_iters}")
        self.signals = tuple(signals) if signals is not None else _default_signals()
        self.check_interval_iters = check_interval_iters
        self.requested = False
        self.signal_name = ""
        self._previous: dict[signal.Signals, _Handler] = {}
        self._counts: dict[signal.Signals, int] = {}

    @property
    def installed(self) -> bool:
        return bool(self._previous)

    def install(self) -> bool:
        """Install the handlers; returns False (and does nothing) outside the main thread."""
        if self._previous or threading.current_thread() is not threading.main_thread():
            return bool(self._previous)
        for sig in self.signals:
            current = signal.getsignal(sig)
            leftover = getattr(current, "__self__", None)
            if isinstance(leftover, PreemptionHandler) and sig in leftover._previous:
                current = leftover._previous[sig]  # an earlier run's handler that was never removed
            self._previous[sig] = current
            signal.signal(sig, self._handle)
        return True

    def uninstall(self) -> None:
        """Put the previous handlers back (safe to call twice)."""
        if threading.current_thread() is not threading.main_thread():
            return
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        self._previous.clear()

    def request(self, signal_name: str) -> None:
        """Ask for a stop as if a signal had arrived (also used by the handler)."""
        self.requested = True
        if not self.signal_name:
            self.signal_name = signal_name

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        sig = signal.Signals(signum)
        self._counts[sig] = self._counts.get(sig, 0) + 1
        if self._counts[sig] > 1:
            if sig == getattr(signal, "SIGINT", None):
                raise KeyboardInterrupt
            previous = self._previous.get(sig, signal.SIG_DFL)
            signal.signal(sig, previous)
            signal.raise_signal(sig)
            return
        self.request(sig.name)

    def should_stop(self, step: int, *, world_size: int) -> bool:
        """Whether to stop now; in a distributed run every rank returns the same answer at the same step.

        ``step`` must be the same on every rank (the completed iteration count); with ``world_size > 1`` the
        flags are combined only when ``step % check_interval_iters == 0``.
        """
        if world_size <= 1:
            return self.requested
        if step % self.check_interval_iters != 0:
            return False
        return self.agree()

    def agree(self) -> bool:
        """Combine the flags of all ranks (a collective: call it on every rank at the same point)."""
        import torch

        from ..distributed.ops import all_reduce

        flag = torch.tensor([1 if self.requested else 0], dtype=torch.int32)
        all_reduce(flag, op="max")
        if int(flag.item()) and not self.requested:
            self.request("a signal on another rank")
        return bool(flag.item())
