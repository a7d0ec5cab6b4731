"""Endless batches from any loader, for iteration-based training, starting at any iteration.

A loader over an :class:`~typedengine.data.samplers.InfiniteSampler` never ends; any other (a plain
``DataLoader``, a ``DefaultSampler``) ends after one pass. :func:`endless_batches` restarts a finite loader
after each pass and moves its sampler to the next epoch first (``sampler.set_epoch(pass)``, as MMEngine's
``_InfiniteDataloaderIterator`` does; an ``IterableDataset`` with ``set_epoch`` is told too), so each pass is
a new shuffle.

A run resumed after ``n`` iterations continues with the batch an uninterrupted run would have read next.
For a finite loader of ``L`` batches per pass that position is pass ``n // L``, batch ``n % L``: the stream
calls ``set_epoch(n // L)`` and ``set_start((n % L) * batch_size)``, so no skipped batch is loaded. An
infinite sampler is started at sample ``n * batch_size``. A loader that cannot start in the middle of a
pass (no ``set_start``, or no length) is refused with the fix, unless ``n`` falls on a pass boundary.

Example::

    stream = endless_batches(loader, start_iter=state.iter)
    for _ in range(max_iters - state.iter):
        batch = next(stream)
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator

from ..errors import UsageError

__all__ = ["endless_batches"]


def _sampler_of(loader: Iterable[object]) -> object | None:
    batch_sampler = getattr(loader, "batch_sampler", None)
    sampler = getattr(batch_sampler, "sampler", None)
    return sampler if sampler is not None else getattr(loader, "sampler", None)


def _batch_size(loader: Iterable[object]) -> int | None:
    size = getattr(loader, "batch_size", None)
    if size is None:
        size = getattr(getattr(loader, "batch_sampler", None), "batch_size", None)
    return size if isinstance(size, int) else None


def _length(loader: Iterable[object]) -> int | None:
    try:
        return len(loader)  # type: ignore[arg-type]  # sized loaders; TypeError otherwise
    except TypeError:
        return None


def endless_batches(
    loader: Iterable[object],
    *,
    start_iter: int = 0,
    skip: Callable[[int], int] | None = None,
    name: str = "train_dataloader",
) -> Iterator[object]:
    """Batches of ``loader`` without end, the first being the one after ``start_iter`` iterations.

    ``skip(n)``: how many indices this rank's sampler skips to continue after ``n`` batches (the run
    schedule's ``rank_start``; default ``n * batch_size``). Raises :class:`~typedengine.errors.UsageError`
    at once (before any batch is read) when the position cannot be reached exactly, or when the loader
    produces no batch at all.
    """
    if start_iter < 0:
        raise ValueError(f"start_iter must be >= 0, got {start_iter}")
    sampler = _sampler_of(loader)
    set_start = getattr(sampler, "set_start", None)
    batch_size = _batch_size(loader)
    length = _length(loader)
    resumable = callable(set_start) and batch_size is not None
    to_skip = skip if skip is not None else (lambda n: n * (batch_size or 0))
    if length is None:
        # an infinite sampler (no length) is positioned arithmetically; anything else must start at 0
        if start_iter and not resumable:
            raise UsageError(_cannot_resume(name, start_iter, "it has no length, so the position is unknown"))
        if start_iter:
            assert set_start is not None and batch_size is not None  # resumable, for mypy
            set_start(to_skip(start_iter))
        # pass 0 keeps the epoch it was given (an infinite sampler never needs another)
        return _passes(loader, sampler, first_pass=0, name=name, set_first_epoch=False)
    if length == 0:
        raise UsageError(_empty(name))
    first_pass, offset = divmod(start_iter, length)
    if offset and not resumable:
        raise UsageError(
            _cannot_resume(
                name,
                start_iter,
                f"that is batch {offset} of pass {first_pass} ({length} batches per pass) and its sampler "
                f"({type(sampler).__name__}) cannot start in the middle of a pass (it has no set_start)",
            )
        )
    return _passes(
        loader, sampler, first_pass=first_pass, name=name, offset_samples=to_skip(offset) if offset else 0
    )


def _passes(
    loader: Iterable[object],
    sampler: object,
    *,
    first_pass: int,
    name: str,
    offset_samples: int = 0,
    set_first_epoch: bool = True,
) -> Iterator[object]:
    set_epoch = getattr(sampler, "set_epoch", None)
    if not callable(set_epoch):
        set_epoch = getattr(getattr(loader, "dataset", None), "set_epoch", None)
    for pass_index in itertools.count(first_pass):
        if callable(set_epoch) and (set_first_epoch or pass_index > first_pass):
            set_epoch(pass_index)
        if offset_samples:
            sampler.set_start(offset_samples)  # type: ignore[attr-defined]  # checked by endless_batches
            offset_samples = 0
        produced = False
        for batch in loader:
            produced = True
            yield batch
        if not produced:
            raise UsageError(_empty(name))


def _empty(name: str) -> str:
    return (
        f"{name}: the loader produced no batch (an empty dataset, or fewer samples per process than the "
        "batch "
        "size with drop_last=True)"
    )


def _cannot_resume(name: str, start_iter: int, why: str) -> str:
    return (
        f"{name}: cannot resume exactly at iteration {start_iter}: {why}. Pass a DataLoaderConfig, give the "
        "loader sampler=typedengine.DefaultSampler(len(dataset), seed=...), or resume from a checkpoint "
        "saved "
        "at the end of a pass"
    )
