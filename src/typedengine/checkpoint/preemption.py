"""Graceful preemption: a signal asks the run to stop at the next safe point, save, and exit with code 75.

SIGTERM (sent by SLURM, Kubernetes, ``kill``), SIGUSR1 (SLURM's ``--signal=USR1@<seconds>`` warning) and the
first Ctrl-C (SIGINT) only set a flag. What happens next depends on where the run is:

* **Start-up** (``Runner.__init__`` and a phase's set-up before its first iteration: building data and
  model, loading a checkpoint). The runner checks the flag at safe points (the end of ``__init__``, just
  before the loop starts) and raises :class:`Preempted` without saving anything: there is nothing to save
  yet. While the process is blocked waiting for its peers (joining the process group), the flag cannot be
  read until the other processes arrive, so a signal there exits at once with 75
  (:meth:`PreemptionHandler.exit_on_signal`): nothing has been written at that point.
* **Training.** The :class:`~typedengine.hooks.checkpoint.CheckpointHook` reads the flag after each
  training iteration (the optimizer step of that iteration has completed) and after each validation
  epoch, writes a checkpoint, and raises :class:`Preempted`. Without a checkpoint hook that handles
  signals, signals behave as if no handler were installed (Ctrl-C interrupts, SIGTERM terminates).
* **Finished** (the last training iteration is done: final validation, ``after_train``/``after_run``,
  flushing checkpoints, ``Runner.close``). The flag is recorded and nothing is interrupted; the run ends
  normally, with exit code 0, so a requeue script does not resubmit a finished job.

:class:`Preempted` is a ``SystemExit`` with code :data:`PREEMPTED_EXIT_CODE` = 75 (``EX_TEMPFAIL`` from
``sysexits.h``: "temporary failure, retry later"). A job script can requeue on that code::

    python train.py --resume
    if [ $? -eq 75 ]; then scontrol requeue "$SLURM_JOB_ID"; fi

A second Ctrl-C raises ``KeyboardInterrupt`` at once (a checkpoint being written is abandoned cleanly:
the previous one stays valid). A second SIGTERM (or SIGUSR1) is passed to the handler that was installed
before (by default: the process terminates), so a process whose training already ended with an error
still stops when signalled twice. Installing over a leftover handler of an earlier run replaces it
instead of chaining to it.

One handler per run: the :class:`~typedengine.runner.runner.Runner` installs a *run handler*
(``PreemptionHandler(phase="startup")``); a plain handler installed while it is in place (the checkpoint
hook's) attaches to it and shares its flag instead of replacing it.

In a distributed run ranks may receive the signal at different iterations, so they agree before acting:
every ``check_interval_iters`` iterations (on the same iteration on every rank) the flags are combined
with one ``all_reduce(max)`` of a single integer; a stop happens on every rank at the same iteration. The
start-up checks agree the same way. The single-process check is a plain attribute read.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import Any, Final, Literal, TypeAlias

__all__ = ["PREEMPTED_EXIT_CODE", "Phase", "Preempted", "PreemptionHandler", "exit_until_a_run_starts"]

_Handler: TypeAlias = "Callable[[int, FrameType | None], Any] | int | signal.Handlers | None"

PREEMPTED_EXIT_CODE: Final = 75
"""Exit status of a run stopped by a signal after saving a checkpoint (``EX_TEMPFAIL``): resume it."""

Phase = Literal["startup", "training", "evaluating", "finished"]
"""Where a run handler's run is (see the module docstring); a plain handler has no phase."""


class Preempted(SystemExit):
    """Raised after the preemption checkpoint is written (or during start-up, when there is nothing to
    save: ``checkpoint`` is None); exits the interpreter with code 75 if uncaught."""

    def __init__(self, signal_name: str, checkpoint: str | None) -> None:
        super().__init__(PREEMPTED_EXIT_CODE)
        self.signal_name = signal_name
        self.checkpoint = checkpoint

    def __str__(self) -> str:
        if self.checkpoint is None:
            return (
                f"stopped by {self.signal_name} during start-up, before the first iteration; nothing to save "
                f"(exit code {PREEMPTED_EXIT_CODE})"
            )
        return (
            f"stopped by {self.signal_name} after saving {self.checkpoint} (exit code {PREEMPTED_EXIT_CODE})"
        )


def _default_signals() -> tuple[signal.Signals, ...]:
    names = ("SIGTERM", "SIGUSR1", "SIGINT")
    return tuple(getattr(signal, n) for n in names if hasattr(signal, n))


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _exit_before_the_run(signum: int, frame: FrameType | None) -> None:
    raise Preempted(signal.Signals(signum).name, None)


def exit_until_a_run_starts() -> None:
    """SIGTERM/SIGUSR1 exit with code 75 at once until a Runner installs its run handler (``te.cli()`` calls
    this): before a Runner exists nothing has been written (the config is parsed, torch is imported), so
    the requeue code is the right answer. The first run handler retires it for good (it is not put back
    when the run ends, so a signal after a finished run does not say "requeue me")."""
    if not _in_main_thread():
        return
    for name in ("SIGTERM", "SIGUSR1"):
        sig = getattr(signal, name, None)
        if sig is not None and signal.getsignal(sig) is signal.SIG_DFL:
            signal.signal(sig, _exit_before_the_run)


class PreemptionHandler:
    """Installs signal handlers that record a stop request; :meth:`should_stop` reports it.

    ``phase`` makes it a *run handler* (what the Runner installs, see the module docstring); without it,
    it is a plain handler that records every signal, or, installed while a run handler is in place,
    attaches to that one and shares its flag.

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
        self,
        signals: Sequence[signal.Signals] | None = None,
        *,
        check_interval_iters: int = 10,
        phase: Phase | None = None,
    ) -> None:
        if check_interval_iters < 1:
            raise ValueError(f"check_interval_iters must be >= 1, got {check_interval_iters}")
        self.signals = tuple(signals) if signals is not None else _default_signals()
        self.check_interval_iters = check_interval_iters
        self.phase: Phase | None = phase
        self.total_steps: int | None = None
        """Iterations of the training phase; ``should_stop`` is False once they are done (finished)."""
        self.steps_done: Callable[[], int] | None = None
        """Completed iterations, read when a signal arrives during training (is training finished?)."""
        self._requested = False
        self._signal_name = ""
        self._previous: dict[signal.Signals, _Handler] = {}
        self._counts: dict[signal.Signals, int] = {}
        self._parent: PreemptionHandler | None = None
        self._children: list[PreemptionHandler] = []

    # -- the flag (shared with the run handler when attached) ------------------------------------------------
    @property
    def requested(self) -> bool:
        """Whether a stop was asked for (by a signal here, or on another rank after :meth:`agree`)."""
        return self._parent.requested if self._parent is not None else self._requested

    @property
    def signal_name(self) -> str:
        """The first signal that asked for the stop (``""`` when none did)."""
        return self._parent.signal_name if self._parent is not None else self._signal_name

    @property
    def installed(self) -> bool:
        return bool(self._previous) or self._parent is not None

    def request(self, signal_name: str) -> None:
        """Ask for a stop as if a signal had arrived (also used by the handler)."""
        if self._parent is not None:
            self._parent.request(signal_name)
            return
        self._requested = True
        if not self._signal_name:
            self._signal_name = signal_name

    def clear(self) -> None:
        """Forget a recorded request (a run handler between two phases of one runner)."""
        self._requested = False
        self._signal_name = ""
        self._counts.clear()

    # -- installing ------------------------------------------------------------------------------------------
    def install(self) -> bool:
        """Install the handlers; returns False (and does nothing) outside the main thread.

        A plain handler installed while a run handler is in place attaches to it instead.
        """
        if self.installed or not _in_main_thread():
            return self.installed
        run = _run_handler_in_place(self.signals)
        if self.phase is None and run is not None:
            self._parent = run
            run._children.append(self)
            return True
        for sig in self.signals:
            current = signal.getsignal(sig)
            leftover = getattr(current, "__self__", None)
            if isinstance(leftover, PreemptionHandler) and sig in leftover._previous:
                current = leftover._previous[sig]  # an earlier run's handler that was never removed
            if current is _exit_before_the_run:
                current = signal.SIG_DFL  # the start-up handler of te.cli() is retired, not restored later
            self._previous[sig] = current
            signal.signal(sig, self._handle)
        return True

    def uninstall(self) -> None:
        """Put the previous handlers back, or detach from the run handler (safe to call twice)."""
        if self._parent is not None:
            parent, self._parent = self._parent, None
            self._requested, self._signal_name = parent.requested, parent.signal_name  # keep what was asked
            if self in parent._children:
                parent._children.remove(self)
            return
        if not _in_main_thread():
            return
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        self._previous.clear()

    # -- receiving -------------------------------------------------------------------------------------------
    def _training_finished(self) -> bool:
        return (
            self.total_steps is not None
            and self.steps_done is not None
            and self.steps_done() >= self.total_steps
        )

    def _passes_through(self) -> bool:
        """Whether a signal now should act as if no handler were installed (nobody would act on the flag)."""
        if self.phase == "evaluating":
            return True
        return self.phase == "training" and not self._children and not self._training_finished()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        sig = signal.Signals(signum)
        if self._passes_through():
            self._call_previous(sig, frame)
            return
        self._counts[sig] = self._counts.get(sig, 0) + 1
        if self._counts[sig] > 1:
            if sig == getattr(signal, "SIGINT", None):
                raise KeyboardInterrupt
            previous = self._previous.get(sig, signal.SIG_DFL)
            signal.signal(sig, previous)
            signal.raise_signal(sig)
            return
        self.request(sig.name)

    def _call_previous(self, sig: signal.Signals, frame: FrameType | None) -> None:
        previous = self._previous.get(sig, signal.SIG_DFL)
        if callable(previous):
            previous(sig, frame)
        elif previous == signal.SIG_DFL:
            if sig == getattr(signal, "SIGINT", None):
                raise KeyboardInterrupt
            signal.signal(sig, signal.SIG_DFL)
            signal.raise_signal(sig)  # the default action (SIGTERM terminates)
            signal.signal(sig, self._handle)  # reached only if the default action did not end the process

    # -- acting ----------------------------------------------------------------------------------------------
    def should_stop(self, step: int, *, world_size: int) -> bool:
        """Whether to stop now; in a distributed run every rank returns the same answer at the same step.

        ``step`` must be the same on every rank (the completed iteration count); with ``world_size > 1`` the
        flags are combined only when ``step % check_interval_iters == 0``. Once ``step`` reaches the run
        handler's ``total_steps`` training is finished and the answer is always False.
        """
        root = self._parent if self._parent is not None else self
        if root.total_steps is not None and step >= root.total_steps:
            return False
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

    def raise_if_requested(self, *, world_size: int) -> None:
        """A start-up safe point: raise :class:`Preempted` (nothing saved) if any rank was signalled.

        With ``world_size > 1`` this is a collective (every rank calls it at the same point).
        """
        stop = self.agree() if world_size > 1 else self.requested
        if stop:
            raise Preempted(self.signal_name, None)

    @contextmanager
    def exit_on_signal(self, what: str) -> Iterator[None]:
        """While the block runs, one of the handled signals ends the process at once with code 75.

        For a blocking wait during start-up that Python cannot interrupt (joining the process group) and
        during which nothing is written. A request recorded before the block raises :class:`Preempted` at
        once. Needs the handlers installed and the main thread; otherwise the block runs unguarded.
        """
        if self.requested:
            raise Preempted(self.signal_name, None)
        if not self._previous or not _in_main_thread():
            yield
            return
        read_fd, write_fd = os.pipe()
        os.set_blocking(write_fd, False)
        try:
            old_fd = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
        except ValueError:  # not the main thread of the main interpreter
            os.close(read_fd)
            os.close(write_fd)
            yield
            return
        handled = {int(sig) for sig in self.signals}
        done = threading.Event()

        def watch() -> None:
            while True:
                try:
                    data = os.read(read_fd, 64)
                except OSError:
                    return
                if not data or done.is_set():
                    return
                signals = [signal.Signals(b).name for b in data if b in handled]
                if signals:
                    message = (
                        f"typedengine: {signals[0]} while {what}; nothing was written, exiting with code "
                        f"{PREEMPTED_EXIT_CODE}\n"
                    )
                    os.write(2, message.encode())
                    os._exit(PREEMPTED_EXIT_CODE)

        watcher = threading.Thread(target=watch, name="typedengine-signal-watcher", daemon=True)
        watcher.start()
        try:
            yield
        finally:
            done.set()
            signal.set_wakeup_fd(old_fd)
            os.close(write_fd)  # the watcher reads end-of-file and returns
            watcher.join(timeout=5)
            os.close(read_fd)


def _run_handler_in_place(signals: Sequence[signal.Signals]) -> PreemptionHandler | None:
    """The run handler installed for the first of ``signals``, if one is."""
    if not signals:
        return None
    owner = getattr(signal.getsignal(signals[0]), "__self__", None)
    if isinstance(owner, PreemptionHandler) and owner.phase is not None and owner._previous:
        return owner
    return None
