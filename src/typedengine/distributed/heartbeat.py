"""Peer liveness: a rank that stops responding is found in seconds, not after the collective timeout.

A rank that *dies* is noticed at once (the survivors' next collective fails with "connection reset").
A rank that is *frozen* (stopped, its node lost without closing the connections, stuck in C code holding
the Python GIL) keeps its connections open, so its peers would wait for the full collective timeout
(``dist.timeout_s``, 10 minutes by default) inside a collective that Python cannot interrupt.

:class:`Heartbeat` runs one daemon thread per rank on its own connection to the rendezvous store:

* every ``interval_s`` it bumps this rank's counter and reads the counter of the next rank (a ring, so
  the store sees three small requests per rank per interval whatever the world size);
* a watched rank whose counter has not moved for ``timeout_s`` (and that did not leave) is announced as
  lost in one store key that every rank reads each interval;
* a rank that stops on an error says so in the store, with the error's first line, before it leaves;
* when a rank learns of a lost or failed peer, it waits ``grace_s`` for its main thread to end the run by
  itself; if that does not happen (the main thread is blocked in a collective with that peer), it prints
  one :class:`~typedengine.distributed.failure.PeerFailureError` line naming that rank and exits the
  process with code 1. Files are safe:
  checkpoints are written atomically, and a half-written temporary is removed at the next start.

A rank stuck in *Python* (an endless loop on the main thread) still beats: its peers stop when their
collective times out (``dist.timeout_s``). :func:`describe_peers` turns what the store knows into words
for the error message of a failed collective ("rank 1 stopped with an error: ..." / "rank 1 is not
responding").
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch._C._distributed_c10d import Store

__all__ = ["Heartbeat", "active_heartbeat", "describe_peers"]

_PREFIX = "typedengine/heartbeat"
_RUN_LOGGER = "typedengine.typedengine"  # the Runner's logger (typedengine.logs.console.create_logger)
_EXIT_CODE = 1

_active: Heartbeat | None = None


def active_heartbeat() -> Heartbeat | None:
    """The heartbeat of this process's process group, if one runs."""
    return _active


def describe_peers() -> str | None:
    """What the heartbeat knows about the other ranks, for an error message; None when nothing is known."""
    beat = _active
    return beat.describe() if beat is not None else None


class Heartbeat:
    """See the module docstring. ``start()`` after joining the group, ``stop()`` before leaving it.

    ``exit_process`` is what happens when a peer is lost (``os._exit`` by default; tests pass their own).
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        rank: int,
        world_size: int,
        interval_s: float = 1.0,
        timeout_s: float = 30.0,
        grace_s: float = 3.0,
        exit_process: Callable[[int], None] = os._exit,
    ) -> None:
        if interval_s <= 0 or timeout_s <= interval_s:
            raise ValueError(f"heartbeat needs 0 < interval_s < timeout_s, got {interval_s} and {timeout_s}")
        self.host, self.port = host, port
        self.rank, self.world_size = rank, world_size
        self.interval_s, self.timeout_s, self.grace_s = interval_s, timeout_s, grace_s
        self._exit_process = exit_process
        self._store: Store | None = None
        self._prefix = _PREFIX
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.lost: str | None = None
        """Why this rank gave up on a peer (set by the thread), or None."""

    # -- lifetime --------------------------------------------------------------------------------------------
    def start(self) -> None:
        """Connect to the store and start beating (idempotent)."""
        global _active
        if self._thread is not None:
            return
        from torch._C._distributed_c10d import TCPStore

        # a separate client with a short timeout: a frozen store host must not block this thread for minutes
        store = TCPStore(
            self.host,
            self.port,
            is_master=False,
            timeout=timedelta(seconds=self.timeout_s),
            wait_for_workers=False,
        )
        # every rank of a group joins once: the counter tells which group of this store this is
        generation = (store.add(f"{_PREFIX}/joined", 1) - 1) // self.world_size
        self._prefix = f"{_PREFIX}/{generation}"
        store.set(self._key("state", self.rank), "running")
        store.add(self._key("beat", self.rank), 1)
        self._store = store
        self._thread = threading.Thread(target=self._run, name="typedengine-heartbeat", daemon=True)
        self._thread.start()
        _active = self

    def stop(self, *, error: BaseException | None = None) -> None:
        """Stop beating; tell the peers this rank left (or failed with ``error``): they must not wait for it."""
        global _active
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=self.interval_s + 5)
        self._thread = None
        if _active is self:
            _active = None
        store, self._store = self._store, None
        if store is None:
            return
        state = "left" if error is None else f"failed: {type(error).__name__}: {_first_line(error)}"
        with contextlib.suppress(Exception):  # the store is gone (its host left or died): nobody is listening
            store.set(self._key("state", self.rank), state)

    # -- the thread ------------------------------------------------------------------------------------------
    def _key(self, what: str, rank: int | None = None) -> str:
        return f"{self._prefix}/{what}" if rank is None else f"{self._prefix}/{what}/{rank}"

    def _run(self) -> None:
        store = self._store
        assert store is not None
        watched = (self.rank + 1) % self.world_size
        last_value, last_change = -1, time.monotonic()
        while not self._stop.wait(self.interval_s):
            try:
                store.add(self._key("beat", self.rank), 1)
                announced = _read(store, self._key("lost"))
                if announced:
                    self._give_up(announced)
                    return
                state = _read(store, self._key("state", watched))
                if state.startswith("failed"):
                    self._announce(
                        store, f"rank {watched} stopped with an error ({state[len('failed: ') :]})"
                    )
                    continue
                if state == "left":
                    continue
                value = store.add(self._key("beat", watched), 0)
            except Exception as exc:  # noqa: BLE001  # the store cannot be reached
                if self._stop.is_set():
                    return
                self._give_up(
                    f"the rendezvous store at {self.host}:{self.port} cannot be reached "
                    f"({_first_line(exc)}): the "
                    "process hosting it (rank 0, or the launcher) is gone"
                )
                return
            now = time.monotonic()
            if value != last_value:
                last_value, last_change = value, now
            elif now - last_change > self.timeout_s:
                self._announce(
                    store,
                    f"rank {watched} stopped responding: no heartbeat for {now - last_change:.0f} s (the "
                    "process "
                    "is frozen, its node was lost, or it is stuck in C code holding the Python GIL)",
                )

    def _announce(self, store: Store, why: str) -> None:
        if not _read(store, self._key("lost")):
            store.set(self._key("lost"), why)

    def _give_up(self, why: str) -> None:
        """A peer is lost: say so, give the main thread ``grace_s`` to end the run itself, then exit."""
        self.lost = why
        if self._stop.wait(self.grace_s):
            return  # the run ended by itself (its collective failed, or it finished)
        message = (
            f"PeerFailureError: {why}; rank {self.rank} of {self.world_size} stops too (exit code "
            f"{_EXIT_CODE}). "
            "Check that rank's output for its first error."
        )
        logger = logging.getLogger(_RUN_LOGGER)
        if logger.handlers:  # the run's log file keeps the reason too (the console line is the one below)
            logger.error(message, extra={"console": False})
            for handler in logger.handlers:
                with contextlib.suppress(Exception):  # best effort: the process is about to end
                    handler.flush()
        sys.stderr.write(f"error: {message}\n")
        sys.stdout.flush()
        sys.stderr.flush()
        self._exit_process(_EXIT_CODE)

    # -- for error messages ----------------------------------------------------------------------------------
    def describe(self) -> str | None:
        """The failed, lost or silent ranks, in words; None when every peer looks fine."""
        if self.lost is not None:
            return self.lost
        store = self._store
        if store is None:
            return None
        try:
            announced = _read(store, self._key("lost"))
            if announced:
                return announced
            states = {
                r: _read(store, self._key("state", r)) for r in range(self.world_size) if r != self.rank
            }
            failed = [
                f"rank {r} stopped with an error ({s[len('failed: ') :]})"
                for r, s in states.items()
                if s.startswith("failed")
            ]
            if failed:
                return "; ".join(failed)
            before = {r: store.add(self._key("beat", r), 0) for r, s in states.items() if s != "left"}
            time.sleep(1.5 * self.interval_s)  # long enough for every live rank to beat once
            silent = [r for r, v in before.items() if store.add(self._key("beat", r), 0) == v]
        except Exception:  # noqa: BLE001  # the store is gone too: nothing more to say
            return None
        if silent:
            ranks = ", ".join(str(r) for r in silent)
            verb = "is" if len(silent) == 1 else "are"
            return f"rank {ranks} {verb} not responding (no heartbeat: exited or frozen)"
        return None


def _read(store: Store, key: str) -> str:
    """The value of ``key`` or ``""`` (without waiting for it to be set)."""
    if not store.check([key]):
        return ""
    value: bytes = store.get(key)
    return value.decode(errors="replace")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]
