"""Background checkpoint writing: the training thread snapshots, one writer thread writes.

``torch.save`` + fsync + rename + pointer update cost tens of milliseconds even for a small model (the
fsyncs dominate on most disks). :class:`CheckpointWriter` runs those steps on one background thread, in
submission order, so a save costs the training loop only the snapshot (a copy of the tensors).

:func:`freeze_checkpoint` decides what the training thread does before handing over: a small checkpoint
(tensors up to :data:`ENCODE_INLINE_BYTES`) is serialised right away, so the writer thread only makes system
calls, which release the GIL (pickling on the writer thread would compete with the training loop for it);
a large one is snapshotted (a memory copy) and serialised by the writer thread, where the disk time hides.

Guarantees kept: every file is still written atomically (temp file, fsync, rename), the ``last_checkpoint``
pointer moves only after its file is complete, and pruning (queued after the save) runs only after the
new file is safe. A crash during a background write leaves the previous checkpoint and pointer valid.
A write error is re-raised on the training thread at the next :meth:`submit` or :meth:`flush`, so it is
never lost. Call :meth:`flush` before reading a file back or exiting.
"""

from __future__ import annotations

import atexit
import queue
import threading
import weakref
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Final

__all__ = ["ENCODE_INLINE_BYTES", "CheckpointWriter", "freeze_checkpoint", "snapshot"]

ENCODE_INLINE_BYTES: Final = 4 << 20
"""Checkpoints whose tensors total at most this many bytes are serialised on the saving thread."""

_LIVE: weakref.WeakSet[CheckpointWriter] = weakref.WeakSet()


@atexit.register
def _flush_all_at_exit() -> None:
    """At interpreter exit (also after an exception or ``sys.exit``), let queued writes complete."""
    for writer in list(_LIVE):
        writer._drain_quietly()


_ATOMS = (int, float, str, bool, type(None))


def snapshot(obj: object) -> object:
    """A deep copy of ``obj`` whose tensors no longer share memory with live parameters or buffers.

    Containers (dicts, lists, tuples) are copied; tensors are detached and cloned (CUDA tensors are copied
    to the CPU); everything else (numbers, strings) is immutable and shared.
    """
    import torch

    kind = type(obj)
    if kind in _ATOMS:
        return obj
    if isinstance(obj, torch.Tensor):
        t = obj.detach()
        return t.to("cpu", copy=True) if t.device.type != "cpu" else t.clone()
    if isinstance(obj, (dict, Mapping)):  # dict first: no ABC check for the common case
        return {k: snapshot(v) for k, v in obj.items()}
    if isinstance(obj, list):
        if all(type(v) in _ATOMS for v in obj):  # e.g. a log history: nothing inside can change
            return list(obj)
        return [snapshot(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(snapshot(v) for v in obj)
    return obj


def freeze_checkpoint(checkpoint: Mapping[str, object], path: Path, *, durable: bool = True) -> Callable[[], Path]:
    """A task that writes ``checkpoint`` as it is now to ``path`` (atomic, checksummed), for the writer thread.

    Content errors (a value ``weights_only=True`` could not load) raise :class:`TypeError` here, before
    anything is queued. Small checkpoints are encoded now (the task only writes bytes); large ones are
    snapshotted now and encoded by the task.
    """
    from .io import _encode_checked, atomic_write_bytes, check_serialisable, save_checkpoint_file

    if check_serialisable(dict(checkpoint)) <= ENCODE_INLINE_BYTES:  # checked once, here
        data = _encode_checked(checkpoint, path)
        return lambda: atomic_write_bytes(path, data, durable=durable)
    frozen = snapshot(checkpoint)
    return lambda: save_checkpoint_file(frozen, path, durable=durable)  # type: ignore[arg-type]  # a dict stays a dict


class CheckpointWriter:
    """Runs checkpoint I/O tasks in order, on one background thread (or inline when ``background=False``)."""

    def __init__(self, background: bool = True) -> None:
        self.background = background
        self._tasks: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._lock = threading.Lock()

    def submit(self, task: Callable[[], None]) -> None:
        """Queue ``task`` after every earlier one (raises a previous task's error first)."""
        self._raise_pending()
        if not self.background:
            task()
            return
        if self._thread is None or not self._thread.is_alive():
            # a daemon (an idle writer must not keep the process alive); queued writes still finish
            # before exit: _flush_all_at_exit waits for them
            self._thread = threading.Thread(target=self._run, name="typedengine-checkpoint-writer", daemon=True)
            self._thread.start()
            _LIVE.add(self)
        self._tasks.put(task)

    def flush(self) -> None:
        """Wait until every queued task finished; re-raise the first error of a task."""
        if self._thread is not None and self._thread.is_alive():
            self._tasks.join()
        self._raise_pending()

    def close(self) -> None:
        """Flush and stop the writer thread."""
        try:
            self.flush()
        finally:
            if self._thread is not None and self._thread.is_alive():
                self._tasks.put(None)
                self._thread.join()
            self._thread = None

    def _drain_quietly(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._tasks.join()

    def _run(self) -> None:
        while True:
            task = self._tasks.get()
            try:
                if task is None:
                    return
                if self._error is None:  # after a failure, later writes are skipped (order matters)
                    task()
            except BaseException as exc:  # noqa: BLE001 - handed to the training thread
                with self._lock:
                    self._error = exc
            finally:
                self._tasks.task_done()

    def _raise_pending(self) -> None:
        with self._lock:
            error, self._error = self._error, None
        if error is not None:
            raise error
